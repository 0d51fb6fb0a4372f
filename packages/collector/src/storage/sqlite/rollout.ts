/** SQL for the `rollouts`, `rollout_audit` and `controller_lease` tables on SQLite. */
import { randomUUID } from 'node:crypto';
import type { AutoPolicy, Rollout } from '@edgeloop/protocol';
import type { Migration } from '../migrations.js';
import type { AuditRecord, RolloutState, RolloutStore } from '../../rollout/types.js';
import { guard, type SqliteDb } from './db.js';

export const rolloutMigrations: Migration[] = [
  {
    name: '202_rollouts',
    sql: `
      CREATE TABLE rollouts (
        model TEXT PRIMARY KEY,
        stable TEXT,
        canary TEXT,
        canary_percent REAL NOT NULL,
        auto TEXT,
        revision INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        phase_started_at INTEGER NOT NULL,
        decided_at INTEGER
      );
      CREATE TABLE rollout_audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        model TEXT NOT NULL,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        reason TEXT NOT NULL,
        before TEXT,
        after TEXT NOT NULL,
        details TEXT
      );
      CREATE INDEX rollout_audit_model ON rollout_audit (model, seq);
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

interface RolloutRow {
  model: string;
  stable: string | null;
  canary: string | null;
  canary_percent: number;
  auto: string | null;
  revision: number;
  updated_at: number;
  phase_started_at: number;
  decided_at: number | null;
}

interface AuditRow {
  seq: number;
  model: string;
  at: number;
  actor: string;
  action: AuditRecord['action'];
  reason: string;
  before: string | null;
  after: string;
  details: string | null;
}

const toState = (r: RolloutRow): RolloutState => ({
  model: r.model,
  stable: r.stable,
  canary: r.canary,
  canaryPercent: r.canary_percent,
  auto: r.auto === null ? null : (JSON.parse(r.auto) as AutoPolicy),
  revision: r.revision,
  updatedAt: r.updated_at,
  phaseStartedAt: r.phase_started_at,
  decidedAt: r.decided_at,
});

const toEntry = (r: AuditRow): AuditRecord => ({
  seq: r.seq,
  model: r.model,
  at: r.at,
  actor: r.actor,
  action: r.action,
  reason: r.reason,
  before: r.before === null ? null : (JSON.parse(r.before) as Rollout),
  after: JSON.parse(r.after) as Rollout,
  details: r.details === null ? null : (JSON.parse(r.details) as Record<string, unknown>),
});

const plain = (r: Rollout): Rollout => ({ stable: r.stable, canary: r.canary, canaryPercent: r.canaryPercent, auto: r.auto });

export function sqliteRolloutStore(db: SqliteDb): RolloutStore {
  const getOne = db.prepare('SELECT * FROM rollouts WHERE model = ?');
  const insert = db.prepare(`
    INSERT INTO rollouts (model, stable, canary, canary_percent, auto, revision, updated_at, phase_started_at, decided_at)
    VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?) ON CONFLICT (model) DO NOTHING`);
  const update = db.prepare(`
    UPDATE rollouts SET stable = ?, canary = ?, canary_percent = ?, auto = ?, revision = revision + 1, updated_at = ?,
      phase_started_at = ?, decided_at = ?
    WHERE model = ? AND revision = ?`);
  const touch = db.prepare('UPDATE rollouts SET decided_at = ? WHERE model = ? AND revision = ?');
  const audit = db.prepare(`
    INSERT INTO rollout_audit (model, at, actor, action, reason, before, after, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  const historyOf = db.prepare('SELECT * FROM rollout_audit WHERE model = ? ORDER BY seq DESC LIMIT ?');
  const automatedAll = db.prepare('SELECT * FROM rollouts WHERE canary IS NOT NULL AND auto IS NOT NULL ORDER BY model');
  // Leadership over a shared file: take the lease if it is free, ours or expired (one statement, atomic).
  const me = randomUUID();
  const takeLease = db.prepare(`
    INSERT INTO controller_lease (id, holder, expires_at) VALUES (1, @me, @until)
    ON CONFLICT (id) DO UPDATE SET holder = @me, expires_at = @until
    WHERE controller_lease.holder = @me OR controller_lease.expires_at <= @now`);
  const dropLease = db.prepare('DELETE FROM controller_lease WHERE holder = ?');

  const applyTx = db.transaction((model: string, change: Parameters<RolloutStore['apply']>[1]): RolloutState | undefined => {
    const before = getOne.get(model) as RolloutRow | undefined;
    if ((before?.revision ?? 0) !== change.expectedRevision) return undefined;
    const { at } = change.entry;
    let after: Rollout;
    if (change.next === null) {
      if (!before) return undefined;
      touch.run(at, model, change.expectedRevision);
      after = toState(before);
    } else {
      const n = change.next;
      const auto = n.auto === null ? null : JSON.stringify(n.auto);
      const r = before
        ? update.run(n.stable, n.canary, n.canaryPercent, auto, at, change.phaseStartedAt, at, model, change.expectedRevision)
        : insert.run(model, n.stable, n.canary, n.canaryPercent, auto, at, change.phaseStartedAt, at);
      if (r.changes === 0) return undefined;
      after = n;
    }
    const e = change.entry;
    audit.run(model, at, e.actor, e.action, e.reason, before ? JSON.stringify(plain(toState(before))) : null, JSON.stringify(plain(after)),
      e.details === null ? null : JSON.stringify(e.details));
    return toState(getOne.get(model) as RolloutRow);
  });

  return {
    async get(model) {
      const row = guard(() => getOne.get(model)) as RolloutRow | undefined;
      return row && toState(row);
    },
    async apply(model, change) {
      return guard(() => applyTx.immediate(model, change));
    },
    async history(model, limit) {
      return (guard(() => historyOf.all(model, limit)) as AuditRow[]).map(toEntry);
    },
    async automated() {
      return (guard(() => automatedAll.all()) as RolloutRow[]).map(toState);
    },
    async lead(now = Date.now()) {
      return guard(() => takeLease.run({ me, now, until: now + CONTROLLER_LEASE_MS })).changes === 1;
    },
    async resign() {
      guard(() => dropLease.run(me));
    },
  };
}
