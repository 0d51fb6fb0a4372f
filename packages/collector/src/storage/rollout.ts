/**
 * Rollout storage, written once: one row per model with a revision for optimistic concurrency, and an
 * append-only audit log. The dialects give the SQL (`RolloutSql`) and the controller's leadership (a lease row
 * on SQLite, an advisory lock on PostgreSQL).
 */
import type { AutoPolicy, Rollout } from '@edgeloop/protocol';
import type { AuditRecord, RolloutChange, RolloutState, RolloutStore } from '../rollout/types.js';
import { all, get, run, type Runner, type Steps } from './steps.js';

/** The statements rollout storage runs; named parameters as each comment gives. */
export interface RolloutSql {
  /** @model → RolloutRow */
  get: string;
  /** @model → RolloutRow, locked against concurrent writers until the transaction ends. */
  lock: string;
  /** @model, @stable, @canary, @canary_percent, @auto, @at, @phase_started_at: revision 1, skipped if the row exists. */
  insert: string;
  /** @model, @revision, @stable, @canary, @canary_percent, @auto, @at, @phase_started_at: bumps the revision. */
  update: string;
  /** @model, @revision, @at: sets decided_at */
  touch: string;
  /** @model, @at, @actor, @action, @reason, @before, @after, @details */
  audit: string;
  /** @model, @limit → AuditRow, newest first */
  history: string;
  /** () → RolloutRow with a live canary and an auto policy, by model */
  automated: string;
}

/** The statements that read the same in both dialects; each dialect spreads them and adds its locking read. */
export const COMMON_ROLLOUT_SQL = {
  get: 'SELECT * FROM rollouts WHERE model = @model',
  insert: `
    INSERT INTO rollouts (model, stable, canary, canary_percent, auto, revision, updated_at, phase_started_at, decided_at)
    VALUES (@model, @stable, @canary, @canary_percent, @auto, 1, @at, @phase_started_at, @at) ON CONFLICT (model) DO NOTHING`,
  update: `
    UPDATE rollouts SET stable = @stable, canary = @canary, canary_percent = @canary_percent, auto = @auto,
      revision = revision + 1, updated_at = @at, phase_started_at = @phase_started_at, decided_at = @at
    WHERE model = @model AND revision = @revision`,
  touch: 'UPDATE rollouts SET decided_at = @at WHERE model = @model AND revision = @revision',
  audit: `
    INSERT INTO rollout_audit (model, at, actor, action, reason, before, after, details)
    VALUES (@model, @at, @actor, @action, @reason, @before, @after, @details)`,
  history: 'SELECT * FROM rollout_audit WHERE model = @model ORDER BY seq DESC LIMIT @limit',
  automated: 'SELECT * FROM rollouts WHERE canary IS NOT NULL AND auto IS NOT NULL ORDER BY model',
} satisfies Partial<RolloutSql>;

/** How a dialect elects the one process that runs the canary controller. */
export interface Leadership {
  lead(now?: number): Promise<boolean>;
  resign(): Promise<void>;
}

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

const plain = (r: Rollout): Rollout => ({
  stable: r.stable,
  canary: r.canary,
  canaryPercent: r.canaryPercent,
  auto: r.auto,
});
const json = (value: unknown) => (value === null ? null : JSON.stringify(value));

/** Writes `change` if the rollout is still at its expected revision; the new state, or undefined. */
function* apply(sql: RolloutSql, model: string, change: RolloutChange): Steps<RolloutState | undefined> {
  const before = yield* get<RolloutRow>(sql.lock, { model });
  const revision = change.expectedRevision;
  if ((before?.revision ?? 0) !== revision) return undefined;
  const { at } = change.entry;
  let after: Rollout;
  if (change.next === null) {
    if (!before) return undefined;
    yield* run(sql.touch, { model, revision, at });
    after = toState(before);
  } else {
    const n = change.next;
    const row = {
      model,
      stable: n.stable,
      canary: n.canary,
      canary_percent: n.canaryPercent,
      auto: json(n.auto),
      at,
      phase_started_at: change.phaseStartedAt,
    };
    const changed = before ? yield* run(sql.update, { ...row, revision }) : yield* run(sql.insert, row);
    if (changed === 0) return undefined;
    after = n;
  }
  const e = change.entry;
  yield* run(sql.audit, {
    model,
    at,
    actor: e.actor,
    action: e.action,
    reason: e.reason,
    before: before ? JSON.stringify(plain(toState(before))) : null,
    after: JSON.stringify(plain(after)),
    details: json(e.details),
  });
  return toState((yield* get<RolloutRow>(sql.get, { model }))!);
}

/** The rollout store of one dialect. */
export function rolloutStore(db: Runner, sql: RolloutSql, leadership: Leadership): RolloutStore {
  return {
    async get(model) {
      const row = await db.read(get<RolloutRow>(sql.get, { model }));
      return row && toState(row);
    },
    apply: (model, change) => db.write(apply(sql, model, change)),
    async history(model, limit) {
      return (await db.read(all<AuditRow>(sql.history, { model, limit }))).map(toEntry);
    },
    async automated() {
      return (await db.read(all<RolloutRow>(sql.automated))).map(toState);
    },
    lead: (now) => leadership.lead(now),
    resign: () => leadership.resign(),
  };
}
