/**
 * Rollout storage, written once: one row per model with a revision for optimistic concurrency, and an
 * append-only audit log. The dialects give the SQL (`RolloutSql`) and the controller's leadership (a lease row
 * on SQLite, an advisory lock on PostgreSQL).
 */
import type { AutoPolicy, Rollout } from '@edgeloop/protocol';
import type { AuditRecord, RolloutChange, RolloutState, RolloutStore } from '../rollout/types.js';
import { all, get, run, type Runner, type Steps } from './steps.js';

/** The statements rollout storage runs; parameters in the order each comment gives. */
export interface RolloutSql {
  /** (model) → RolloutRow */
  get: string;
  /** (model) → RolloutRow, locked against concurrent writers until the transaction ends. */
  lock: string;
  /** (model, stable, canary, canary_percent, auto, updated_at, phase_started_at, decided_at), revision 1, skipped if the row exists. */
  insert: string;
  /** (stable, canary, canary_percent, auto, updated_at, phase_started_at, decided_at, model, revision): bumps the revision. */
  update: string;
  /** (decided_at, model, revision) */
  touch: string;
  /** (model, at, actor, action, reason, before, after, details) */
  audit: string;
  /** (model, limit) → AuditRow, newest first */
  history: string;
  /** () → RolloutRow with a live canary and an auto policy, by model */
  automated: string;
}

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
  const before = yield* get<RolloutRow>(sql.lock, [model]);
  if ((before?.revision ?? 0) !== change.expectedRevision) return undefined;
  const { at } = change.entry;
  let after: Rollout;
  if (change.next === null) {
    if (!before) return undefined;
    yield* run(sql.touch, [at, model, change.expectedRevision]);
    after = toState(before);
  } else {
    const n = change.next;
    const changed = before
      ? yield* run(sql.update, [
          n.stable,
          n.canary,
          n.canaryPercent,
          json(n.auto),
          at,
          change.phaseStartedAt,
          at,
          model,
          change.expectedRevision,
        ])
      : yield* run(sql.insert, [
          model,
          n.stable,
          n.canary,
          n.canaryPercent,
          json(n.auto),
          at,
          change.phaseStartedAt,
          at,
        ]);
    if (changed === 0) return undefined;
    after = n;
  }
  const e = change.entry;
  yield* run(sql.audit, [
    model,
    at,
    e.actor,
    e.action,
    e.reason,
    before ? JSON.stringify(plain(toState(before))) : null,
    JSON.stringify(plain(after)),
    json(e.details),
  ]);
  return toState((yield* get<RolloutRow>(sql.get, [model]))!);
}

/** The rollout store of one dialect. */
export function rolloutStore(db: Runner, sql: RolloutSql, leadership: Leadership): RolloutStore {
  return {
    async get(model) {
      const row = await db.read(get<RolloutRow>(sql.get, [model]));
      return row && toState(row);
    },
    apply: (model, change) => db.write(apply(sql, model, change)),
    async history(model, limit) {
      return (await db.read(all<AuditRow>(sql.history, [model, limit]))).map(toEntry);
    },
    async automated() {
      return (await db.read(all<RolloutRow>(sql.automated))).map(toState);
    },
    lead: (now) => leadership.lead(now),
    resign: () => leadership.resign(),
  };
}
