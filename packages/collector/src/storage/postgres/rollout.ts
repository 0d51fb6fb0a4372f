/**
 * SQL for the `rollouts` and `rollout_audit` tables on PostgreSQL, and the controller's leadership: of all the
 * collectors sharing one database, the one holding a session advisory lock runs the canary controller.
 */
import pg from 'pg';
import type { Migration } from '../migrations.js';
import { rolloutTables, POSTGRES_TYPES } from '../schema.js';
import { COMMON_ROLLOUT_SQL, type Leadership, type RolloutSql } from '../rollout.js';
import type { PostgresOptions } from './db.js';

export const rolloutMigrations: Migration[] = [
  {
    name: '202_rollouts',
    sql: `${rolloutTables(POSTGRES_TYPES)}
    `,
  },
];

export const rolloutSql: RolloutSql = {
  ...COMMON_ROLLOUT_SQL,
  lock: 'SELECT * FROM rollouts WHERE model = @model FOR UPDATE',
};

/** Leadership through a session advisory lock held on a connection of its own. */
export function postgresLeadership(options: PostgresOptions): Leadership & { close(): Promise<void> } {
  const schema = options.schema ?? 'public';
  // A session lock lives as long as its connection, so leadership has one client of its own outside the pool,
  // kept whether or not it holds the lock: a follower tries again on it each tick instead of connecting anew.
  // It is replaced only when it fails, and closed on resign and close. The name lets operators find it.
  let client: pg.Client | null = null;
  let leading = false;
  let closed = false;

  async function connection(): Promise<pg.Client> {
    if (client) return client;
    if (closed) throw new Error('the rollout store is closed');
    const c = new pg.Client({
      connectionString: options.url,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
      options: `-c search_path=${schema}`,
      application_name: `edgeloop-controller:${schema}`,
    });
    // A dead connection took its lock with it (maybe to another collector); the next try reconnects.
    c.on('error', () => {
      if (client === c) void drop();
    });
    try {
      await c.connect();
      if (closed) throw new Error('the rollout store was closed while connecting');
    } catch (err) {
      await c.end().catch(() => {});
      throw err;
    }
    client = c;
    return c;
  }

  async function drop(): Promise<void> {
    const c = client;
    client = null;
    leading = false;
    await c?.end().catch(() => {});
  }

  return {
    async lead() {
      // A failure on a connection that worked before gets one fresh connection at once; a failed connect waits
      // for the next tick.
      for (let attempt = 0; attempt < 2; attempt++) {
        const reused = client !== null;
        try {
          const c = await connection();
          if (leading) {
            await c.query('SELECT 1');
            return true;
          }
          const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [
            `edgeloop-controller:${schema}`,
          ]);
          leading = r.rows[0]?.ok === true;
          return leading;
        } catch {
          await drop();
          if (!reused) return false;
        }
      }
      return false;
    },
    async resign() {
      await drop();
    },
    async close() {
      closed = true;
      await drop();
    },
  };
}
