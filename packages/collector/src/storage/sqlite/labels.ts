/** SQL for the `reviews` and `input_labels` tables on SQLite (the review queue reads `events` through them). */
import type { Migration } from '../migrations.js';
import { labelTables, reviewBatchColumn, SQLITE_TYPES } from '../schema.js';
import { run } from '../steps.js';
import { predictionsWithHash } from './events.js';
import type { FreezeQueries } from '../batches.js';
import { lowConfidenceIndex, queueFrom, unreportedPage, upsertOutcomes, type LabelSql } from '../labels.js';

export const labelMigrations: Migration[] = [
  {
    name: '101_labels',
    sql: `${labelTables(SQLITE_TYPES)}
    `,
  },
  { name: '104_review_batch', sql: reviewBatchColumn },
  { name: '105_events_low_confidence_index', sql: lowConfidenceIndex },
];

/** The review queue: its tied inputs' predictions, found by hash through `events_input_key` (see predictionsWithHash). */
const QUEUE_FROM = queueFrom(
  predictionsWithHash('1', "SELECT input_hash AS h FROM input_labels WHERE model = @model AND outcome = 'tie'"),
);

const UPSERT = upsertOutcomes('VALUES (?, ?, ?, ?, ?, ?, ?)');

/** Records the latest resolution of each decided input, a row at a time; runs inside the freeze transaction. */
export const recordOutcomes: FreezeQueries['recordOutcomes'] = function* (model, decisions, batchId, now) {
  for (const d of decisions)
    yield* run(UPSERT, [model, d.inputHash, d.outcome, d.label, batchId, batchId === null ? 0 : d.sources, now]);
};

export const labelSql: LabelSql = {
  queueCount: `SELECT COUNT(DISTINCT p.input_hash) AS n ${QUEUE_FROM}`,
  queuePage: `
    SELECT p.input_hash AS h, MIN(p.received_at) AS first_seen, COUNT(*) AS n, MAX(CASE WHEN s.outcome = 'tie' THEN 1 ELSE 0 END) AS tie,
      COUNT(*) OVER () AS total
    ${QUEUE_FROM}
    GROUP BY p.input_hash ORDER BY tie DESC, first_seen, h LIMIT @limit OFFSET @offset`,
  queuePredictions: `
    SELECT input_hash, id, label, confidence, body FROM (
      SELECT e.input_hash, e.id, e.label, e.confidence, e.body, ROW_NUMBER() OVER (PARTITION BY e.input_hash ORDER BY e.seq DESC) AS rn
      ${predictionsWithHash()}
    ) WHERE rn <= 5 ORDER BY input_hash, rn`,
  // From the page's predictions (found by hash) to their corrections (by prediction id): the planner otherwise
  // read every correction of the model and probed its prediction (0.7 s at 200,000 corrections).
  queueCorrections: `
    SELECT p.input_hash, c.device_id, c.label, c.body
    FROM (SELECT e.id, e.input_hash ${predictionsWithHash()}) p
    CROSS JOIN events c INDEXED BY events_prediction
    WHERE c.prediction_id = p.id AND c.prediction_id IS NOT NULL AND c.type = 'correction' AND c.model = @model
    ORDER BY c.seq`,
  // The index is named: without statistics the planner may read the model's predictions some other way and sort.
  unreportedPage: unreportedPage('events e INDEXED BY events_model_type_received'),
  // The inputs' predictions by hash (see predictionsWithHash), then their corrections by prediction id.
  correctedInputs: `
    SELECT DISTINCT p.input_hash AS h
    FROM (SELECT e.id, e.input_hash ${predictionsWithHash()}) p
    CROSS JOIN events c INDEXED BY events_prediction
    WHERE c.prediction_id = p.id AND c.prediction_id IS NOT NULL AND c.type = 'correction'`,
  // A write transaction holds the file's write lock, which freezes take too.
  lockModel: null,
};
