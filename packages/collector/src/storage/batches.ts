/**
 * Labeled batches and golden sets, written once. A freeze locks the model, resolves every pending label (the
 * reviewer's label, else the vote), writes the batch and records each input's outcome, in one transaction; its
 * dry run does the same reads on one snapshot and writes nothing. A golden set is immutable unless it is named
 * as the one being replaced. Each dialect keeps its tuned bulk reads and writes (`FreezeQueries`, raw SQL) and
 * the SQL of the plain reads (`BatchSql`, named parameters).
 */
import type { Batch } from '@edgeloop/protocol';
import { resolveLabels, type Decision, type LabelSource, type Resolution } from '../labels/resolver.js';
import { buildBatch, type BuiltBatch, type InputCandidate } from '../labels/batch-content.js';
import {
  batchFromRow,
  lineageOf,
  type BatchRow,
  type BatchStore,
  type FreezePreview,
  type FreezeResult,
  type GoldenResult,
  type LineageRow,
} from '../labels/store.js';
import { all, get, run, type Runner, type Steps } from './steps.js';

const TAKE_REVIEWS = 'UPDATE reviews SET batch_id = @id WHERE model = @model AND batch_id IS NULL';

/** The plain statements of batch storage, with their named parameters. */
export interface BatchSql {
  /** (@id, @model, @sha256, @counts, @createdAt, @golden: 0 or 1, @replaces) */
  insert: string;
  /** (@id) → BatchRow */
  get: string;
  /** (@model) → BatchRow of its batches (not golden sets), oldest first */
  list: string;
  /** (@model) → the BatchRow of its latest batch */
  last: string;
  /** (@id, @afterOrd, @limit) → { ord, line } */
  lines: string;
  /** (@id) → LineageRow by ord */
  lineage: string;
  /** (@model) → the BatchRow of its current golden set */
  golden: string;
  /** (@model, @id): makes `id` the model's golden set */
  setGolden: string;
  /** (@model) → the BatchRow of its current base data */
  baseData: string;
  /** (@model, @id): makes `id` the model's base data */
  setBaseData: string;
}

/** The statements that read the same in both dialects; each dialect spreads them and adds the rest. */
export const COMMON_BATCH_SQL = {
  get: 'SELECT * FROM batches WHERE id = @id',
  lines: 'SELECT ord, line FROM batch_examples WHERE batch_id = @id AND ord > @afterOrd ORDER BY ord LIMIT @limit',
  lineage: 'SELECT input_hash, source_event_id, sources FROM batch_examples WHERE batch_id = @id ORDER BY ord',
  golden: 'SELECT b.* FROM golden_current g JOIN batches b ON b.id = g.batch_id WHERE g.model = @model',
  setGolden:
    'INSERT INTO golden_current (model, batch_id) VALUES (@model, @id) ON CONFLICT (model) DO UPDATE SET batch_id = excluded.batch_id',
  baseData: 'SELECT b.* FROM base_data_current d JOIN batches b ON b.id = d.batch_id WHERE d.model = @model',
  setBaseData:
    'INSERT INTO base_data_current (model, batch_id) VALUES (@model, @id) ON CONFLICT (model) DO UPDATE SET batch_id = excluded.batch_id',
} satisfies Partial<BatchSql>;

/** A label source's columns as a freeze's bulk read returns them, after its id (and its kind, where it has one). */
export type SourceColumns = [
  inputHash: string,
  label: string,
  deviceId: string | null,
  ts: number,
  receivedAt: number,
  seen: number,
];

/** A dialect's tuned reads and writes of a freeze. */
export interface FreezeQueries {
  /** Serialises the freezes and golden-set changes of one model (within the write transaction). */
  lock(model: string): Steps<void>;
  /** Every label source of the model's pending inputs, and how many sources each had when a batch last resolved it. */
  sources(model: string): Steps<{ sources: LabelSource[]; seen: Map<string, number> }>;
  /** The input hashes of the model's golden set. */
  goldenHashes(model: string): Steps<string[]>;
  /** The inputs of the first few stored predictions of each hash that carry one. */
  candidates(model: string, hashes: readonly string[]): Steps<Map<string, InputCandidate[]>>;
  /** Stores a batch's examples. */
  writeExamples(id: string, examples: BuiltBatch['examples']): Steps<void>;
  /**
   * Records the latest resolution of each decided input (`upsertOutcomes`); runs inside the freeze transaction. With
   * a batch id the input's sources count as seen (consumed); without one (nothing to train on) only the outcome is kept.
   */
  recordOutcomes(model: string, decisions: readonly Decision[], batchId: string | null, now: number): Steps<void>;
}

/** What a freeze of `model` would hold now. Reads only: the freeze and its dry run share it. */
function* resolveBatch(
  q: FreezeQueries,
  model: string,
  maxLabelsPerDevice: number,
): Steps<{ resolution: Resolution; content: BuiltBatch }> {
  const { sources, seen } = yield* q.sources(model);
  const golden = new Set(yield* q.goldenHashes(model));
  const resolution = resolveLabels(sources, { maxLabelsPerDevice, golden, seen });
  const labeled = resolution.decisions.filter((d) => d.label !== null).map((d) => d.inputHash);
  const byHash = labeled.length > 0 ? yield* q.candidates(model, labeled) : new Map<string, InputCandidate[]>();
  return { resolution, content: buildBatch(resolution, byHash) };
}

/** A batch (or golden set, or base data) to store. */
interface NewBatch {
  model: string;
  content: BuiltBatch;
  id: string;
  now: number;
}

function* writeBatch(
  sql: BatchSql,
  q: FreezeQueries,
  b: NewBatch,
  golden: boolean,
  replaces: string | null,
): Steps<void> {
  yield* run(sql.insert, {
    id: b.id,
    model: b.model,
    sha256: b.content.sha256,
    counts: JSON.stringify(b.content.counts),
    createdAt: b.now,
    golden: golden ? 1 : 0,
    replaces,
  });
  yield* q.writeExamples(b.id, b.content.examples);
}

function* freeze(
  sql: BatchSql,
  q: FreezeQueries,
  model: string,
  id: string,
  now: number,
  maxLabelsPerDevice: number,
): Steps<FreezeResult> {
  yield* q.lock(model);
  const { resolution, content } = yield* resolveBatch(q, model, maxLabelsPerDevice);
  if (content.examples.length === 0) {
    // Nothing to train on: consume nothing, but ties must still reach the review queue.
    yield* q.recordOutcomes(model, resolution.decisions, null, now);
    return { batch: null, counts: content.counts };
  }
  yield* writeBatch(sql, q, { model, content, id, now }, false, null);
  yield* q.recordOutcomes(model, resolution.decisions, id, now);
  // A review no batch took yet made its input pending, so it was read above and is now counted as seen: it can no
  // longer be undone. (On PostgreSQL, a review committed since that read is marked too: refusing its undo is safe.)
  yield* run(TAKE_REVIEWS, { model, id });
  return { batch: batchFromRow((yield* get<BatchRow>(sql.get, { id }))!) };
}

function* preview(sql: BatchSql, q: FreezeQueries, model: string, maxLabelsPerDevice: number): Steps<FreezePreview> {
  const last = yield* get<BatchRow>(sql.last, { model });
  const { content } = yield* resolveBatch(q, model, maxLabelsPerDevice);
  return { counts: content.counts, lastBatch: last ? batchFromRow(last) : null };
}

function* putGolden(sql: BatchSql, q: FreezeQueries, b: NewBatch, replaces: string | null): Steps<GoldenResult> {
  yield* q.lock(b.model);
  const row = yield* get<BatchRow>(sql.golden, { model: b.model });
  if (row) {
    const current = batchFromRow(row);
    if (current.sha256 === b.content.sha256) return { status: 'unchanged', batch: current };
    if (replaces !== current.id) return { status: 'conflict', current };
  }
  yield* writeBatch(sql, q, b, true, replaces);
  yield* run(sql.setGolden, { model: b.model, id: b.id });
  return { status: 'created', batch: batchFromRow((yield* get<BatchRow>(sql.get, { id: b.id }))!) };
}

function* putBaseData(
  sql: BatchSql,
  q: FreezeQueries,
  b: NewBatch,
): Steps<{ status: 'created' | 'unchanged'; batch: Batch }> {
  yield* q.lock(b.model);
  const row = yield* get<BatchRow>(sql.baseData, { model: b.model });
  if (row && row.sha256 === b.content.sha256) return { status: 'unchanged', batch: batchFromRow(row) };
  // Base data is a reference set like the golden set (golden = true keeps it out of the batch list); the set it
  // replaces stays stored, immutable, for the versions that replayed it.
  yield* writeBatch(sql, q, b, true, row?.id ?? null);
  yield* run(sql.setBaseData, { model: b.model, id: b.id });
  return { status: 'created', batch: batchFromRow((yield* get<BatchRow>(sql.get, { id: b.id }))!) };
}

/** The batch store of one dialect. */
export function batchStore(db: Runner, sql: BatchSql, q: FreezeQueries): BatchStore {
  return {
    freeze: (model, { id, now, maxLabelsPerDevice }) => db.write(freeze(sql, q, model, id, now, maxLabelsPerDevice)),
    preview: (model, { maxLabelsPerDevice }) => db.snapshot(preview(sql, q, model, maxLabelsPerDevice)),
    async list(model) {
      return (await db.read(all<BatchRow>(sql.list, { model }))).map(batchFromRow);
    },
    async get(id) {
      const row = await db.read(get<BatchRow>(sql.get, { id }));
      return row && batchFromRow(row);
    },
    lines: (id, afterOrd, limit) => db.read(all<{ ord: number; line: string }>(sql.lines, { id, afterOrd, limit })),
    async lineage(id) {
      return lineageOf(await db.read(all<LineageRow>(sql.lineage, { id })));
    },
    putGolden: (model, content, { id, now, replaces }) =>
      db.write(putGolden(sql, q, { model, content, id, now }, replaces)),
    async golden(model) {
      const row = await db.read(get<BatchRow>(sql.golden, { model }));
      return row && batchFromRow(row);
    },
    putBaseData: (model, content, { id, now }) => db.write(putBaseData(sql, q, { model, content, id, now })),
    async baseData(model) {
      const row = await db.read(get<BatchRow>(sql.baseData, { model }));
      return row && batchFromRow(row);
    },
  };
}
