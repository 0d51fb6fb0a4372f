/**
 * Training-lease storage, written once. A claim locks the model's row, or skips it when another claim holds it
 * (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so a busy lease answers at once instead of queueing claimers; SQLite: the
 * immediate transaction already holds the file's write lock), and inserts the row on a model's first claim, where
 * `ON CONFLICT DO NOTHING` lets exactly one of concurrent first claims in.
 */
import {
  isFree,
  type ClaimOutcome,
  type ClaimRequest,
  type HolderOutcome,
  type LeaseRecord,
  type LeaseStore,
} from '../leases/types.js';
import { all, get, run, type Runner, type Steps } from './steps.js';

/** The statements lease storage runs; named parameters as each comment gives. */
export interface LeaseSql {
  /** @model → LeaseRow */
  get: string;
  /** @model → LeaseRow, locked until the transaction ends; no row when another transaction holds it. */
  lockOrSkip: string;
  /** @model → LeaseRow, locked until the transaction ends (waits for another transaction holding it). */
  lock: string;
  /** @model, @lease_id, @holder, @now, @expires_at: attempt 1, skipped when the row exists. */
  insert: string;
  /** @model, @lease_id, @holder, @now, @expires_at, @attempt: a new lease on the existing row. */
  take: string;
  /** @model, @lease_id, @expires_at */
  extend: string;
  /** @model, @lease_id, @now */
  release: string;
  /** @models (a JSON array of names) → { model } of those with a row. */
  known: string;
  /**
   * @models (a JSON array), @now → the LeaseRow of a free model among them, free the longest, locked until the
   * transaction ends; rows another transaction holds are skipped.
   */
  nextFree: string;
}

/** The statements that read the same in both dialects; each dialect spreads them and adds its locking reads. */
export const COMMON_LEASE_SQL = {
  get: 'SELECT * FROM training_leases WHERE model = @model',
  insert: `
    INSERT INTO training_leases (model, lease_id, holder, acquired_at, expires_at, attempt, released_at)
    VALUES (@model, @lease_id, @holder, @now, @expires_at, 1, NULL) ON CONFLICT (model) DO NOTHING`,
  take: `
    UPDATE training_leases SET lease_id = @lease_id, holder = @holder, acquired_at = @now, expires_at = @expires_at,
      attempt = @attempt, released_at = NULL
    WHERE model = @model`,
  extend: 'UPDATE training_leases SET expires_at = @expires_at WHERE model = @model AND lease_id = @lease_id',
  release: 'UPDATE training_leases SET released_at = @now WHERE model = @model AND lease_id = @lease_id',
} satisfies Partial<LeaseSql>;

interface LeaseRow {
  model: string;
  lease_id: string;
  holder: string;
  acquired_at: number;
  expires_at: number;
  attempt: number;
  released_at: number | null;
}

const toRecord = (r: LeaseRow): LeaseRecord => ({
  model: r.model,
  leaseId: r.lease_id,
  holder: r.holder,
  acquiredAt: r.acquired_at,
  expiresAt: r.expires_at,
  attempt: r.attempt,
  releasedAt: r.released_at,
});

function* claim(sql: LeaseSql, model: string, { holder, ttlMs, now, leaseId }: ClaimRequest): Steps<ClaimOutcome> {
  const expires_at = now + ttlMs;
  const row = yield* get<LeaseRow>(sql.lockOrSkip, { model });
  if (!row) {
    const inserted = yield* run(sql.insert, { model, lease_id: leaseId, holder, now, expires_at });
    if (inserted === 1)
      return { status: 'claimed', lease: toRecord((yield* get<LeaseRow>(sql.get, { model }))!), previous: null };
    // The row exists and another transaction holds it: a claim of it is being committed right now.
    const current = yield* get<LeaseRow>(sql.get, { model });
    return { status: 'held', current: current ? toRecord(current) : null };
  }
  const current = toRecord(row);
  if (!isFree(current, now)) {
    if (current.holder !== holder) return { status: 'held', current };
    // The holder asks again (its answer was lost, say): the same lease, lasting ttl from now.
    yield* run(sql.extend, { model, lease_id: current.leaseId, expires_at: Math.max(expires_at, current.expiresAt) });
    return { status: 'claimed', lease: toRecord((yield* get<LeaseRow>(sql.get, { model }))!), previous: null };
  }
  // Released: a fresh job. Expired unreleased: its holder died or stalled, and this is one more attempt at its job.
  return yield* take(sql, current, { holder, ttlMs, now, leaseId });
}

function* claimNext(sql: LeaseSql, models: readonly string[], request: ClaimRequest): Steps<ClaimOutcome> {
  const { holder, ttlMs, now, leaseId } = request;
  const named = JSON.stringify(models);
  const known = new Set((yield* all<{ model: string }>(sql.known, { models: named })).map((r) => r.model));
  for (const model of models) {
    if (known.has(model)) continue;
    // Another claim may insert it first (then this one does nothing and looks further).
    if ((yield* run(sql.insert, { model, lease_id: leaseId, holder, now, expires_at: now + ttlMs })) === 1)
      return { status: 'claimed', lease: toRecord((yield* get<LeaseRow>(sql.get, { model }))!), previous: null };
  }
  const row = yield* get<LeaseRow>(sql.nextFree, { models: named, now });
  if (!row) return { status: 'held', current: null };
  return yield* take(sql, toRecord(row), request);
}

/** Gives the free lease `current` to the claimer: a fresh job after a release, one more attempt after an expiry. */
function* take(sql: LeaseSql, current: LeaseRecord, request: ClaimRequest): Steps<ClaimOutcome> {
  const { model } = current;
  const { holder, ttlMs, now, leaseId } = request;
  const attempt = current.releasedAt !== null ? 1 : current.attempt + 1;
  yield* run(sql.take, { model, lease_id: leaseId, holder, now, expires_at: now + ttlMs, attempt });
  return { status: 'claimed', lease: toRecord((yield* get<LeaseRow>(sql.get, { model }))!), previous: current };
}

/** Runs `change` on the model's lease when it still is `leaseId`; `change` answers false when that lease cannot take it. */
function* holding(
  sql: LeaseSql,
  model: string,
  leaseId: string,
  change: (current: LeaseRecord) => Steps<boolean>,
): Steps<HolderOutcome> {
  const row = yield* get<LeaseRow>(sql.lock, { model });
  const current = row ? toRecord(row) : null;
  if (!current || current.leaseId !== leaseId || !(yield* change(current))) return { status: 'lost', current };
  return { status: 'ok', lease: toRecord((yield* get<LeaseRow>(sql.get, { model }))!) };
}

/** The lease store of one dialect. */
export function leaseStore(db: Runner, sql: LeaseSql): LeaseStore {
  return {
    claim: (model, request) => db.write(claim(sql, model, request)),
    claimNext: (models, request) => db.write(claimNext(sql, models, request)),
    renew: (model, leaseId, ttlMs, now) =>
      db.write(
        holding(sql, model, leaseId, function* (current) {
          // A released lease stays released: its holder said it was done.
          if (current.releasedAt !== null) return false;
          yield* run(sql.extend, { model, lease_id: leaseId, expires_at: now + ttlMs });
          return true;
        }),
      ),
    release: (model, leaseId, now) =>
      db.write(
        holding(sql, model, leaseId, function* (current) {
          if (current.releasedAt === null) yield* run(sql.release, { model, lease_id: leaseId, now });
          return true;
        }),
      ),
    async get(model) {
      const row = await db.read(get<LeaseRow>(sql.get, { model }));
      return row && toRecord(row);
    },
  };
}
