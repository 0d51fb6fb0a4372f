/** SQL for the `reviews` and `input_labels` tables on PostgreSQL (the review queue reads `events` through them). */
import type { Migration } from '../migrations.js';
import { labelTables, POSTGRES_TYPES } from '../schema.js';
import { guard, type PgClient, type PgPool } from './db.js';
import type { LabelStore } from '../../labels/store.js';
import type { Decision } from '../../labels/resolver.js';
import { queueItems, type QueueCorrectionRow, type QueuePredictionRow } from '../../labels/queue.js';

export const labelMigrations: Migration[] = [
  {
    name: '101_labels',
    sql: `${labelTables(POSTGRES_TYPES)}
    `,
  },
];

const CHUNK = 20_000;

/**
 * Records the latest resolution of each decided input; runs inside the freeze transaction. With a batch id the
 * input's sources count as seen (consumed); without one (nothing to train on) only the outcome is kept.
 */
export async function postgresRecordOutcomes(c: PgClient, model: string, decisions: readonly Decision[], batchId: string | null, now: number): Promise<void> {
  for (let i = 0; i < decisions.length; i += CHUNK) {
    const rows = decisions.slice(i, i + CHUNK).map((d) => ({ h: d.inputHash, o: d.outcome, l: d.label, n: batchId === null ? 0 : d.sources }));
    // One JSON parameter, parsed once: the driver would otherwise serialise every value of every array in JavaScript.
    await c.query(
      `INSERT INTO input_labels (model, input_hash, outcome, label, batch_id, sources, updated_at)
       SELECT $1, h, o, l, $3, n, $4 FROM json_to_recordset($2::json) AS t (h text, o text, l text, n int)
       ON CONFLICT (model, input_hash) DO UPDATE SET
         outcome = excluded.outcome, label = excluded.label, updated_at = excluded.updated_at,
         batch_id = COALESCE(excluded.batch_id, input_labels.batch_id),
         sources = CASE WHEN excluded.batch_id IS NULL THEN input_labels.sources ELSE excluded.sources END`,
      [model, JSON.stringify(rows), batchId, now],
    );
  }
}

// Inputs waiting for a person: a low-confidence prediction or a tie, with no reviewer label and no resolved label.
const QUEUE_FROM = `
  FROM events p
  LEFT JOIN input_labels s ON s.model = p.model AND s.input_hash = p.input_hash
  WHERE p.model = $1 AND p.type = 'prediction'
    AND (p.reason = 'low_confidence' OR s.outcome = 'tie')
    AND s.label IS NULL
    AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.model = p.model AND r.input_hash = p.input_hash)`;

export function postgresLabelStore(pool: PgPool): LabelStore {
  return {
    async review(r) {
      return guard(async () => {
        const found = await pool.query<{ model: string; type: string; input_hash: string | null }>(
          'SELECT model, type, input_hash FROM events WHERE id = $1',
          [r.eventId],
        );
        const event = found.rows[0];
        if (!event) return { error: 'not_found' as const };
        if (event.type !== 'prediction' || event.input_hash === null) return { error: 'not_prediction' as const };
        await pool.query(
          'INSERT INTO reviews (id, model, input_hash, event_id, label, comment, reviewer, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
          [r.id, event.model, event.input_hash, r.eventId, r.label, r.comment, r.reviewer, r.createdAt],
        );
        return { review: { ...r, model: event.model, inputHash: event.input_hash } };
      });
    },
    async queue(model, { limit, offset }) {
      return guard(async () => {
        const total = (await pool.query<{ n: number }>(`SELECT COUNT(DISTINCT p.input_hash)::int AS n ${QUEUE_FROM}`, [model])).rows[0]!.n;
        const rows = (
          await pool.query<{ h: string; first_seen: number; n: number; tie: number }>(
            `SELECT p.input_hash AS h, MIN(p.received_at) AS first_seen, COUNT(*)::int AS n,
                    MAX(CASE WHEN s.outcome = 'tie' THEN 1 ELSE 0 END) AS tie
             ${QUEUE_FROM}
             GROUP BY p.input_hash ORDER BY tie DESC, first_seen, h LIMIT $2 OFFSET $3`,
            [model, limit, offset],
          )
        ).rows;
        if (rows.length === 0) return { total, items: [] };
        const hashes = rows.map((r) => r.h);
        const preds = await pool.query<QueuePredictionRow>(
          `SELECT input_hash, id, label, confidence, body FROM (
             SELECT input_hash, id, label, confidence, body, ROW_NUMBER() OVER (PARTITION BY input_hash ORDER BY seq DESC) AS rn
             FROM events WHERE model = $1 AND type = 'prediction' AND input_hash = ANY($2::text[])
           ) t WHERE rn <= 5 ORDER BY input_hash, rn`,
          [model, hashes],
        );
        const corr = await pool.query<QueueCorrectionRow>(
          `SELECT p.input_hash, c.device_id, c.label, c.body
           FROM events p JOIN events c ON c.prediction_id = p.id
           WHERE p.model = $1 AND p.type = 'prediction' AND p.input_hash = ANY($2::text[]) AND c.type = 'correction' AND c.model = $1
           ORDER BY c.seq`,
          [model, hashes],
        );
        const items = queueItems(
          rows.map((r) => ({ inputHash: r.h, firstSeen: r.first_seen, predictions: r.n, tie: r.tie === 1 })),
          preds.rows,
          corr.rows,
        );
        return { total, items };
      });
    },
  };
}
