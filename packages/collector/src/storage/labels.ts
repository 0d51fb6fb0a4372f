/**
 * Reviewer labels and the review queue, written once: a review is stored only for a prediction (the input it
 * labels is the prediction's), and the queue is read as one page of inputs plus their latest predictions and
 * users' corrections, assembled by `queueItems`. The dialects give the SQL (`LabelSql`, named parameters).
 */
import type { LabelStore, QueueItem } from '../labels/store.js';
import { queueItems, type QueueCorrectionRow, type QueuePredictionRow } from '../labels/queue.js';
import { all, get, run, type Runner, type Steps } from './steps.js';

/** The statements label storage runs, with their named parameters. */
export interface LabelSql {
  /** (@id) → { model, type, input_hash } of one event */
  event: string;
  /** (@id, @model, @inputHash, @eventId, @label, @comment, @reviewer, @createdAt) */
  insertReview: string;
  /** (@model) → { n }: inputs in the queue */
  queueCount: string;
  /** (@model, @limit, @offset) → PageRow, ties first, then oldest first */
  queuePage: string;
  /** (@model, @hashes: a JSON array) → QueuePredictionRow, the latest 5 per input */
  queuePredictions: string;
  /** (@model, @hashes: a JSON array) → QueueCorrectionRow, oldest first */
  queueCorrections: string;
}

interface PageRow {
  h: string;
  first_seen: number;
  n: number;
  tie: number;
}

type Review = Parameters<LabelStore['review']>[0];
type ReviewResult = Awaited<ReturnType<LabelStore['review']>>;

function* review(sql: LabelSql, r: Review): Steps<ReviewResult> {
  const event = yield* get<{ model: string; type: string; input_hash: string | null }>(sql.event, { id: r.eventId });
  if (!event) return { error: 'not_found' };
  if (event.type !== 'prediction' || event.input_hash === null) return { error: 'not_prediction' };
  yield* run(sql.insertReview, {
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

function* queue(sql: LabelSql, model: string, limit: number, offset: number): Steps<{ total: number; items: QueueItem[] }> {
  const total = (yield* get<{ n: number }>(sql.queueCount, { model }))!.n;
  const rows = yield* all<PageRow>(sql.queuePage, { model, limit, offset });
  if (rows.length === 0) return { total, items: [] };
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

/** The label store of one dialect. */
export function labelStore(db: Runner, sql: LabelSql): LabelStore {
  return {
    review: (r) => db.write(review(sql, r)),
    queue: (model, { limit, offset }) => db.read(queue(sql, model, limit, offset)),
  };
}
