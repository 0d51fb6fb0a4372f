/** SQL for the `reviews` and `input_labels` tables on SQLite (the review queue reads `events` through them). */
import type { Migration } from '../migrations.js';
import { labelTables, SQLITE_TYPES } from '../schema.js';
import { guard, type SqliteDb } from './db.js';
import { predictionsWithHash } from './events.js';
import type { LabelStore, QueueItem } from '../../labels/store.js';
import type { Decision } from '../../labels/resolver.js';
import { queueItems, type QueueCorrectionRow, type QueuePredictionRow } from '../../labels/queue.js';

export const labelMigrations: Migration[] = [
  {
    name: '101_labels',
    sql: `${labelTables(SQLITE_TYPES)}
    `,
  },
];

const UPSERT = `
  INSERT INTO input_labels (model, input_hash, outcome, label, batch_id, sources, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (model, input_hash) DO UPDATE SET
    outcome = excluded.outcome, label = excluded.label, updated_at = excluded.updated_at,
    batch_id = COALESCE(excluded.batch_id, input_labels.batch_id),
    sources = CASE WHEN excluded.batch_id IS NULL THEN input_labels.sources ELSE excluded.sources END`;

/**
 * Records the latest resolution of each decided input; runs inside the freeze transaction. With a batch id the
 * input's sources count as seen (consumed); without one (nothing to train on) only the outcome is kept.
 */
export function sqliteRecordOutcomes(db: SqliteDb): (model: string, decisions: readonly Decision[], batchId: string | null, now: number) => void {
  const upsert = db.prepare(UPSERT);
  return (model, decisions, batchId, now) => {
    for (const d of decisions) upsert.run(model, d.inputHash, d.outcome, d.label, batchId, batchId === null ? 0 : d.sources, now);
  };
}

// Inputs waiting for a person: a low-confidence prediction or a tie, with no reviewer label and no resolved label.
const QUEUE_FROM = `
  FROM events p
  LEFT JOIN input_labels s ON s.model = p.model AND s.input_hash = p.input_hash
  WHERE p.model = @model AND p.type = 'prediction'
    AND (p.reason = 'low_confidence' OR s.outcome = 'tie')
    AND s.label IS NULL
    AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.model = p.model AND r.input_hash = p.input_hash)`;

export function sqliteLabelStore(db: SqliteDb): LabelStore {
  const findEvent = db.prepare('SELECT model, type, input_hash FROM events WHERE id = ?');
  const insertReview = db.prepare(
    'INSERT INTO reviews (id, model, input_hash, event_id, label, comment, reviewer, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const count = db.prepare(`SELECT COUNT(DISTINCT p.input_hash) ${QUEUE_FROM}`).pluck();
  const page = db.prepare(`
    SELECT p.input_hash AS h, MIN(p.received_at) AS first_seen, COUNT(*) AS n, MAX(CASE WHEN s.outcome = 'tie' THEN 1 ELSE 0 END) AS tie
    ${QUEUE_FROM}
    GROUP BY p.input_hash ORDER BY tie DESC, first_seen, h LIMIT @limit OFFSET @offset`);
  const predictions = db.prepare(`
    SELECT input_hash, id, label, confidence, body FROM (
      SELECT e.input_hash, e.id, e.label, e.confidence, e.body, ROW_NUMBER() OVER (PARTITION BY e.input_hash ORDER BY e.seq DESC) AS rn
      ${predictionsWithHash()}
    ) WHERE rn <= 5 ORDER BY input_hash, rn`);
  const corrections = db.prepare(`
    SELECT p.input_hash, c.device_id, c.label, c.body
    FROM events p JOIN events c ON c.prediction_id = p.id
    WHERE p.model = @model AND p.type = 'prediction' AND p.input_hash IN (SELECT value FROM json_each(@hashes))
      AND c.type = 'correction' AND c.model = @model
    ORDER BY c.seq`);

  return {
    async review(r) {
      return guard(() => {
        const event = findEvent.get(r.eventId) as { model: string; type: string; input_hash: string | null } | undefined;
        if (!event) return { error: 'not_found' as const };
        if (event.type !== 'prediction' || event.input_hash === null) return { error: 'not_prediction' as const };
        insertReview.run(r.id, event.model, event.input_hash, r.eventId, r.label, r.comment, r.reviewer, r.createdAt);
        return { review: { ...r, model: event.model, inputHash: event.input_hash } };
      });
    },
    async queue(model, { limit, offset }) {
      return guard(() => {
        const total = count.get({ model }) as number;
        const rows = page.all({ model, limit, offset }) as { h: string; first_seen: number; n: number; tie: number }[];
        if (rows.length === 0) return { total, items: [] as QueueItem[] };
        const hashes = JSON.stringify(rows.map((r) => r.h));
        const preds = predictions.all({ model, hashes }) as QueuePredictionRow[];
        const corr = corrections.all({ model, hashes }) as QueueCorrectionRow[];
        const items = queueItems(
          rows.map((r) => ({ inputHash: r.h, firstSeen: r.first_seen, predictions: r.n, tie: r.tie === 1 })),
          preds,
          corr,
        );
        return { total, items };
      });
    },
  };
}
