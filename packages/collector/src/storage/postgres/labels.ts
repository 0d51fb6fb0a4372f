/** SQL for the `reviews` and `input_labels` tables on PostgreSQL (the review queue reads `events` through them). */
import type { Migration } from '../migrations.js';
import { labelTables, reviewBatchColumn, POSTGRES_TYPES } from '../schema.js';
import { run } from '../steps.js';
import type { FreezeQueries } from '../batches.js';
import { lowConfidenceIndex, queueFrom, unreportedPage, upsertOutcomes, type LabelSql } from '../labels.js';

export const labelMigrations: Migration[] = [
  {
    name: '101_labels',
    sql: `${labelTables(POSTGRES_TYPES)}
    `,
  },
  { name: '104_review_batch', sql: reviewBatchColumn },
  { name: '105_events_low_confidence_index', sql: lowConfidenceIndex },
];

/**
 * The review queue: its tied inputs' predictions, found by hash through `events_input_hash`. The hashes are compared
 * in the events' collation: `input_labels` keeps them in "C", and a join in that collation cannot use the index
 * (it read every prediction of the model).
 */
const QUEUE_FROM = queueFrom(`
  FROM events e
  WHERE e.model = @model AND e.type = 'prediction'
    AND e.input_hash IN (SELECT t.input_hash COLLATE "default" FROM input_labels t WHERE t.model = @model AND t.outcome = 'tie')`);

const CHUNK = 20_000;

// One JSON parameter, parsed once: the driver would otherwise serialise every value of every array in JavaScript.
const UPSERT = upsertOutcomes(
  'SELECT $1, h, o, l, $3, n, $4 FROM json_to_recordset($2::json) AS t (h text, o text, l text, n int)',
);

/** Records the latest resolution of each decided input, in chunks of JSON; runs inside the freeze transaction. */
export const recordOutcomes: FreezeQueries['recordOutcomes'] = function* (model, decisions, batchId, now) {
  for (let i = 0; i < decisions.length; i += CHUNK) {
    const rows = decisions
      .slice(i, i + CHUNK)
      .map((d) => ({ h: d.inputHash, o: d.outcome, l: d.label, n: batchId === null ? 0 : d.sources }));
    yield* run(UPSERT, [model, JSON.stringify(rows), batchId, now]);
  }
};

export const labelSql: LabelSql = {
  queueCount: `SELECT COUNT(DISTINCT p.input_hash)::int AS n ${QUEUE_FROM}`,
  queuePage: `
    SELECT p.input_hash AS h, MIN(p.received_at) AS first_seen, COUNT(*)::int AS n,
           MAX(CASE WHEN s.outcome = 'tie' THEN 1 ELSE 0 END) AS tie, (COUNT(*) OVER ())::int AS total
    ${QUEUE_FROM}
    GROUP BY p.input_hash ORDER BY tie DESC, first_seen, h LIMIT @limit OFFSET @offset`,
  queuePredictions: `
    SELECT input_hash, id, label, confidence, body FROM (
      SELECT input_hash, id, label, confidence, body, ROW_NUMBER() OVER (PARTITION BY input_hash ORDER BY seq DESC) AS rn
      FROM events WHERE model = @model AND type = 'prediction' AND input_hash = ANY(ARRAY(SELECT json_array_elements_text(@hashes::json)))
    ) t WHERE rn <= 5 ORDER BY input_hash, rn`,
  queueCorrections: `
    SELECT p.input_hash, c.device_id, c.label, c.body
    FROM events p JOIN events c ON c.prediction_id = p.id
    WHERE p.model = @model AND p.type = 'prediction' AND p.input_hash = ANY(ARRAY(SELECT json_array_elements_text(@hashes::json)))
      AND c.type = 'correction' AND c.model = @model
    ORDER BY c.seq`,
  unreportedPage: unreportedPage('events e'),
  // LATERAL … LIMIT 1 probes `events_prediction` once per prediction of the inputs: as a join, the planner merged
  // with every correction of every partition, read in prediction-id order.
  correctedInputs: `
    SELECT DISTINCT p.input_hash AS h
    FROM events p
    CROSS JOIN LATERAL (SELECT 1 FROM events c WHERE c.prediction_id = p.id AND c.type = 'correction' LIMIT 1) c
    WHERE p.model = @model AND p.type = 'prediction' AND p.input_hash = ANY(ARRAY(SELECT json_array_elements_text(@hashes::json)))`,
  // The advisory lock a freeze of the model takes (postgres/batches.ts), so an undo and a freeze never interleave.
  lockModel: `SELECT pg_advisory_xact_lock(hashtext('edgeloop-batches:' || @model::text))`,
};
