/**
 * SQL for the `rollouts` and `rollout_audit` tables on PostgreSQL, and the controller's leadership: of all the
 * collectors sharing one database, the one holding a session advisory lock runs the canary controller.
 */
import pg from 'pg';
import type { AutoPolicy, Rollout } from '@edgeloop/protocol';
import type { Migration } from '../migrations.js';
import type { AuditRecord, RolloutState, RolloutStore } from '../../rollout/types.js';
import { guard, inTransaction, type PgPool, type PostgresOptions } from './db.js';

export const rolloutMigrations: Migration[] = [
  {
    name: '202_rollouts',
    sql: `
      CREATE TABLE rollouts (
        model TEXT PRIMARY KEY,
        stable TEXT,
        canary TEXT,
        canary_percent DOUBLE PRECISION NOT NULL,
        auto TEXT,
        revision BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        phase_started_at BIGINT NOT NULL,
        decided_at BIGINT
      );
      CREATE TABLE rollout_audit (
        seq BIGSERIAL PRIMARY KEY,
        model TEXT NOT NULL,
        at BIGINT NOT NULL,
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
];

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

export function postgresRolloutStore(pool: PgPool, options: PostgresOptions): RolloutStore & { close(): Promise<void> } {
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
    async get(model) {
      const r = await guard(() => pool.query<RolloutRow>('SELECT * FROM rollouts WHERE model = $1', [model]));
      return r.rows[0] && toState(r.rows[0]);
    },
    async apply(model, change) {
      return inTransaction(pool, async (c) => {
        const found = await c.query<RolloutRow>('SELECT * FROM rollouts WHERE model = $1 FOR UPDATE', [model]);
        const before = found.rows[0];
        if ((before?.revision ?? 0) !== change.expectedRevision) return undefined;
        const { at } = change.entry;
        let after: Rollout;
        if (change.next === null) {
          if (!before) return undefined;
          await c.query('UPDATE rollouts SET decided_at = $1 WHERE model = $2', [at, model]);
          after = toState(before);
        } else {
          const n = change.next;
          const auto = n.auto === null ? null : JSON.stringify(n.auto);
          const r = before
            ? await c.query(
                `UPDATE rollouts SET stable = $1, canary = $2, canary_percent = $3, auto = $4, revision = revision + 1,
                   updated_at = $5, phase_started_at = $6, decided_at = $5 WHERE model = $7`,
                [n.stable, n.canary, n.canaryPercent, auto, at, change.phaseStartedAt, model],
              )
            : await c.query(
                `INSERT INTO rollouts (model, stable, canary, canary_percent, auto, revision, updated_at, phase_started_at, decided_at)
                 VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $6) ON CONFLICT (model) DO NOTHING`,
                [model, n.stable, n.canary, n.canaryPercent, auto, at, change.phaseStartedAt],
              );
          if ((r.rowCount ?? 0) === 0) return undefined;
          after = n;
        }
        const e = change.entry;
        await c.query(
          'INSERT INTO rollout_audit (model, at, actor, action, reason, before, after, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
          [model, at, e.actor, e.action, e.reason, before ? JSON.stringify(plain(toState(before))) : null, JSON.stringify(plain(after)),
            e.details === null ? null : JSON.stringify(e.details)],
        );
        const now = await c.query<RolloutRow>('SELECT * FROM rollouts WHERE model = $1', [model]);
        return toState(now.rows[0]!);
      });
    },
    async history(model, limit) {
      const r = await guard(() => pool.query<AuditRow>('SELECT * FROM rollout_audit WHERE model = $1 ORDER BY seq DESC LIMIT $2', [model, limit]));
      return r.rows.map(toEntry);
    },
    async automated() {
      const r = await guard(() => pool.query<RolloutRow>('SELECT * FROM rollouts WHERE canary IS NOT NULL AND auto IS NOT NULL ORDER BY model'));
      return r.rows.map(toState);
    },
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
          const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [`edgeloop-controller:${schema}`]);
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
