/**
 * Reviewer labels and the review queue, written once: a review is stored only for a prediction (the input it
 * labels is the prediction's), and the queue is read as one page of inputs plus their latest predictions and
 * users' corrections, assembled by `queueItems`. The dialects give the SQL (`LabelSql`, named parameters).
 */
import type { LabelStore, QueueItem, UndoResult, UnreportedPrediction } from '../labels/store.js';
import { queueItems, type QueueCorrectionRow, type QueuePredictionRow } from '../labels/queue.js';
import { canonicalTensor } from '../labels/batch-content.js';
import { all, get, run, type Runner, type Steps } from './steps.js';

// The same SQL in both dialects.
const EVENT = 'SELECT model, type, input_hash FROM events WHERE id = @id';
const INSERT_REVIEW = `
  INSERT INTO reviews (id, model, input_hash, event_id, label, comment, reviewer, created_at)
  VALUES (@id, @model, @inputHash, @eventId, @label, @comment, @reviewer, @createdAt)`;

const REVIEW = 'SELECT * FROM reviews WHERE id = @id';
const DELETE_REVIEW = 'DELETE FROM reviews WHERE id = @id';

/**
 * FROM and WHERE of the review queue of `@model`, as rows `p` (input_hash, received_at) joined to `s`, their input's
 * `input_labels` row: a low-confidence prediction or a prediction of a tied input, with no reviewer label and no
 * resolved label. Two branches rather than one `reason = 'low_confidence' OR outcome = 'tie'`, which read every
 * prediction of the model (600,000 rows, bodies and all, in a store of 1M events): the low-confidence ones from
 * their own partial index (`events_low_confidence`, read without the events' rows), the tied inputs' other
 * predictions by input hash from the ties in `input_labels` (`tiePredictions`: the dialect's FROM and WHERE of
 * those predictions, as `e`).
 */
export const queueFrom = (tiePredictions: string) => `
  FROM (
    SELECT e.input_hash, e.received_at FROM events e
    WHERE e.model = @model AND e.type = 'prediction' AND e.reason = 'low_confidence'
    UNION ALL
    SELECT e.input_hash, e.received_at ${tiePredictions} AND COALESCE(e.reason, '') <> 'low_confidence'
  ) p
  LEFT JOIN input_labels s ON s.model = @model AND s.input_hash = p.input_hash
  WHERE s.label IS NULL
    AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.model = @model AND r.input_hash = p.input_hash)`;

/** The index the queue's first branch reads: by arrival, so ingest only ever appends to it. */
export const lowConfidenceIndex = `
  CREATE INDEX events_low_confidence ON events (model, received_at, input_hash)
  WHERE type = 'prediction' AND reason = 'low_confidence';`;

/**
 * One step of the scan for unreported predictions: the kept predictions of `@model` and `@version` received before
 * (`@at`, `@seq`), newest first, at most `@limit`, whose input no review names. It walks `(model, type,
 * received_at)` (`events_model_type_received`; `events` the dialect's FROM, as `e`) backwards from the cut-off and
 * stops at the limit, so it reads the recent predictions only, not the model's whole history (EXPLAIN: an index
 * scan backwards on SQLite, a Merge Append of each partition's backward index scans under an Incremental Sort by
 * seq on PostgreSQL). Corrections are looked up afterwards for the step's inputs only (`LabelSql.correctedInputs`).
 */
export const unreportedPage = (events: string) => `
  SELECT e.id, e.input_hash, e.label, e.confidence, e.reason, e.ts, e.received_at, e.seq, e.body
  FROM ${events}
  WHERE e.model = @model AND e.type = 'prediction' AND e.received_at <= @at AND (e.received_at < @at OR e.seq < @seq)
    AND e.version = @version AND e.reason IN ('low_confidence', 'sample') AND e.input_hash IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.model = @model AND r.input_hash = e.input_hash)
  ORDER BY e.received_at DESC, e.seq DESC
  LIMIT @limit`;

/**
 * The upsert of each decided input's latest resolution, its rows from `source` (a VALUES list or a SELECT of the
 * seven columns in order). With a batch id the input's sources count as seen (consumed); without one (nothing to
 * train on) only the outcome is kept.
 */
export const upsertOutcomes = (source: string) => `
  INSERT INTO input_labels (model, input_hash, outcome, label, batch_id, sources, updated_at) ${source}
  ON CONFLICT (model, input_hash) DO UPDATE SET
    outcome = excluded.outcome, label = excluded.label, updated_at = excluded.updated_at,
    batch_id = COALESCE(excluded.batch_id, input_labels.batch_id),
    sources = CASE WHEN excluded.batch_id IS NULL THEN input_labels.sources ELSE excluded.sources END`;

/** The statements of the review queue each dialect writes its own way, with their named parameters. */
export interface LabelSql {
  /** (@model) → { n }: inputs in the queue */
  queueCount: string;
  /** (@model, @limit, @offset) → PageRow, ties first, then oldest first, each with the queue's total (one pass for both) */
  queuePage: string;
  /** (@model, @hashes: a JSON array) → QueuePredictionRow, the latest 5 per input */
  queuePredictions: string;
  /** (@model, @hashes: a JSON array) → QueueCorrectionRow, oldest first */
  queueCorrections: string;
  /** (@model, @version, @at, @seq, @limit) → UnreportedRow: one step of the scan (see `unreportedPage`) */
  unreportedPage: string;
  /** (@model, @hashes: a JSON array) → { h }: those inputs that a correction names (through any prediction of the model) */
  correctedInputs: string;
  /** (@model) → takes the lock the model's freezes take, until the transaction ends; `null` where writes are serialised already. */
  lockModel: string | null;
}

interface ReviewRow {
  id: string;
  model: string;
  input_hash: string;
  event_id: string;
  label: string;
  comment: string | null;
  reviewer: string;
  created_at: number;
  batch_id: string | null;
}

const reviewOf = (r: ReviewRow) => ({
  id: r.id,
  eventId: r.event_id,
  model: r.model,
  inputHash: r.input_hash,
  label: r.label,
  comment: r.comment,
  reviewer: r.reviewer,
  createdAt: Number(r.created_at),
});

interface PageRow {
  h: string;
  first_seen: number;
  n: number;
  tie: number;
  /** Inputs in the whole queue (`COUNT(*) OVER ()` of the groups, before the limit). */
  total: number;
}

type Review = Parameters<LabelStore['review']>[0];
type ReviewResult = Awaited<ReturnType<LabelStore['review']>>;

function* review(sql: LabelSql, r: Review): Steps<ReviewResult> {
  const event = yield* get<{ model: string; type: string; input_hash: string | null }>(EVENT, { id: r.eventId });
  if (!event) return { error: 'not_found' };
  if (event.type !== 'prediction' || event.input_hash === null) return { error: 'not_prediction' };
  yield* run(INSERT_REVIEW, {
    id: r.id,
    model: event.model,
    inputHash: event.input_hash,
    eventId: r.eventId,
    label: r.label,
    comment: r.comment,
    reviewer: r.reviewer,
    createdAt: r.createdAt,
  });
  return { review: { ...r, model: event.model, inputHash: event.input_hash } };
}

function* undo(sql: LabelSql, id: string): Steps<UndoResult> {
  const row = yield* get<ReviewRow>(REVIEW, { id });
  if (!row) return { error: 'not_found' };
  if (sql.lockModel) {
    yield* run(sql.lockModel, { model: row.model });
    // Read again under the lock: a concurrent undo may have removed it meanwhile.
    if (!(yield* get<ReviewRow>(REVIEW, { id }))) return { error: 'not_found' };
  }
  // A batch counted it among its input's sources: removing it would make a later source of the input look seen.
  if (row.batch_id !== null) return { error: 'in_batch', review: reviewOf(row) };
  yield* run(DELETE_REVIEW, { id });
  return { review: reviewOf(row) };
}

function* queue(
  sql: LabelSql,
  model: string,
  limit: number,
  offset: number,
): Steps<{ total: number; items: QueueItem[] }> {
  const rows = yield* all<PageRow>(sql.queuePage, { model, limit, offset });
  // A page past the end has no row to carry the total: only then is it counted apart.
  if (rows.length === 0) return { total: (yield* get<{ n: number }>(sql.queueCount, { model }))!.n, items: [] };
  const total = Number(rows[0]!.total);
  const hashes = JSON.stringify(rows.map((r) => r.h));
  const preds = yield* all<QueuePredictionRow>(sql.queuePredictions, { model, hashes });
  const corr = yield* all<QueueCorrectionRow>(sql.queueCorrections, { model, hashes });
  const items = queueItems(
    rows.map((r) => ({ inputHash: r.h, firstSeen: r.first_seen, predictions: r.n, tie: r.tie === 1 })),
    preds,
    corr,
  );
  return { total, items };
}

interface UnreportedRow {
  id: string;
  input_hash: string;
  label: string;
  confidence: number;
  reason: UnreportedPrediction['reason'];
  ts: number;
  received_at: number;
  seq: number;
  body: string;
}

/** Rows one step of the unreported scan reads at least: a small limit still takes few steps past repeated inputs. */
const UNREPORTED_STEP_MIN = 100;

function* unreported(
  sql: LabelSql,
  model: string,
  { version, receivedBy, limit }: { version: string; receivedBy: number; limit: number },
): Steps<UnreportedPrediction[]> {
  const items: UnreportedPrediction[] = [];
  // Per input met so far: true when it is out (corrected, or listed already from a newer prediction).
  const out = new Map<string, boolean>();
  const step = Math.max(limit, UNREPORTED_STEP_MIN);
  let at = receivedBy;
  let seq = Number.MAX_SAFE_INTEGER;
  for (;;) {
    const rows = yield* all<UnreportedRow>(sql.unreportedPage, { model, version, at, seq, limit: step });
    const unknown = [...new Set(rows.map((r) => r.input_hash))].filter((h) => !out.has(h));
    if (unknown.length > 0) {
      const corrected = yield* all<{ h: string }>(sql.correctedInputs, { model, hashes: JSON.stringify(unknown) });
      const named = new Set(corrected.map((r) => r.h));
      for (const h of unknown) out.set(h, named.has(h));
    }
    for (const r of rows) {
      if (out.get(r.input_hash)) continue;
      // A prediction without its input says nothing to train on: an older one of the same input may carry it.
      const body = JSON.parse(r.body) as { input?: unknown; output?: { labels?: string[] } };
      const input = canonicalTensor(body.input);
      if (!input) continue;
      out.set(r.input_hash, true);
      items.push({
        predictionId: r.id,
        inputHash: r.input_hash,
        input,
        label: r.label,
        ...(body.output?.labels ? { labels: body.output.labels } : {}),
        confidence: Number(r.confidence),
        reason: r.reason,
        ts: Number(r.ts),
        receivedAt: Number(r.received_at),
      });
      if (items.length === limit) return items;
    }
    if (rows.length < step) return items;
    const last = rows[rows.length - 1]!;
    at = Number(last.received_at);
    seq = Number(last.seq);
  }
}

/** The label store of one dialect. */
export function labelStore(db: Runner, sql: LabelSql): LabelStore {
  return {
    review: (r) => db.write(review(sql, r)),
    undo: (id) => db.write(undo(sql, id)),
    queue: (model, { limit, offset }) => db.read(queue(sql, model, limit, offset)),
    // One snapshot: the steps of the scan and their correction lookups see the same events.
    unreported: (model, query) => db.snapshot(unreported(sql, model, query)),
  };
}
