/** SQL for the `rollouts`, `rollout_audit` and `controller_lease` tables on SQLite. */
import { randomUUID } from 'node:crypto';
import type { Migration } from '../migrations.js';
import { rolloutTables, SQLITE_TYPES } from '../schema.js';
import { COMMON_ROLLOUT_SQL, type Leadership, type RolloutSql } from '../rollout.js';
import { guard, type SqliteDb } from './db.js';

export const rolloutMigrations: Migration[] = [
  {
    name: '202_rollouts',
    sql: `${rolloutTables(SQLITE_TYPES)}
    `,
  },
  {
    // Several collector processes may share one database file: the one holding this row runs the controller.
    name: '203_controller_lease',
    sql: `
      CREATE TABLE controller_lease (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        holder TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
    `,
  },
];

/**
 * How long a controller's lease lasts without renewal; the leader renews it on every tick (every 5 s by default),
 * so a collector that died without resigning is replaced this long after its last tick.
 */
export const CONTROLLER_LEASE_MS = 30_000;

export const rolloutSql: RolloutSql = {
  ...COMMON_ROLLOUT_SQL,
  // The write runs in an immediate transaction, which already holds the file's write lock.
  lock: COMMON_ROLLOUT_SQL.get,
};

/** Leadership over a shared file: a lease row, taken when it is free, ours or expired (one statement, atomic). */
export function sqliteLeadership(db: SqliteDb): Leadership {
  const me = randomUUID();
  const takeLease = db.prepare(`
    INSERT INTO controller_lease (id, holder, expires_at) VALUES (1, @me, @until)
    ON CONFLICT (id) DO UPDATE SET holder = @me, expires_at = @until
    WHERE controller_lease.holder = @me OR controller_lease.expires_at <= @now`);
  const dropLease = db.prepare('DELETE FROM controller_lease WHERE holder = ?');
  return {
    async lead(now = Date.now()) {
      return guard(() => takeLease.run({ me, now, until: now + CONTROLLER_LEASE_MS }), db).changes === 1;
    },
    async resign() {
      guard(() => dropLease.run(me), db);
    },
  };
}
