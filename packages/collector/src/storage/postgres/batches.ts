/**
 * SQL for `batches`, `batch_examples` and `golden_current` on PostgreSQL. Freezes and golden-set changes of
 * one model are serialised across collectors by a transaction-scoped advisory lock. Bulk reads come back as
 * one JSON document and bulk writes go in as JSON: far cheaper than a driver round-trip per row or value.
 */
import type { Migration } from '../migrations.js';
import { baseDataTable, batchTables, POSTGRES_TYPES } from '../schema.js';
import { recordOutcomes } from './labels.js';
import type { LabelSource } from '../../labels/resolver.js';
import type { InputCandidate } from '../../labels/batch-content.js';
import { COMMON_BATCH_SQL, type BatchSql, type FreezeQueries, type SourceColumns } from '../batches.js';
import { all, get, run } from '../steps.js';

export const batchMigrations: Migration[] = [
  {
    name: '102_batches',
    sql: `${batchTables(POSTGRES_TYPES)}
      CREATE FUNCTION batch_rows_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME; END $$;
      CREATE TRIGGER batches_immutable BEFORE UPDATE OR DELETE ON batches FOR EACH ROW EXECUTE FUNCTION batch_rows_immutable();
      CREATE TRIGGER batch_examples_immutable BEFORE UPDATE OR DELETE ON batch_examples FOR EACH ROW EXECUTE FUNCTION batch_rows_immutable();
    
    `,
  },
  { name: '103_base_data', sql: baseDataTable },
];

// Every label of each pending input (one with more sources than the last batch that resolved it saw), sorted by
// input (bytewise: "C" skips locale rules, and JavaScript sorts the same way), with that count: one pass over the
// corrections, counted here so that an idle model sends no rows; the resolver gets the whole history of each pending
// input (it decides the vote). Both CTEs are materialized: inlined, the planner joins every source before filtering.
const COLLECT = `
  WITH sources AS MATERIALIZED (
    SELECT c.id AS source_id, p.input_hash, c.label, c.device_id, c.ts, c.received_at
    FROM events c JOIN events p ON p.id = c.prediction_id
    WHERE c.model = $1 AND c.type = 'correction' AND p.type = 'prediction' AND p.model = $1
    UNION ALL
    SELECT r.id, r.input_hash, r.label, NULL, r.created_at, r.created_at FROM reviews r WHERE r.model = $1
  ),
  pending AS MATERIALIZED (
    SELECT k.input_hash, coalesce(l.sources, 0) AS seen
    FROM (SELECT input_hash, count(*) AS n FROM sources GROUP BY input_hash) k
    LEFT JOIN input_labels l ON l.model = $1 AND l.input_hash = k.input_hash
    WHERE k.n > coalesce(l.sources, 0)
  )
  SELECT coalesce(json_agg(json_build_array(s.source_id, s.input_hash, s.label, s.device_id, s.ts, s.received_at, p.seen)
                           ORDER BY s.input_hash COLLATE "C", s.source_id COLLATE "C"), '[]')::text AS doc
  FROM sources s JOIN pending p ON p.input_hash = s.input_hash`;

// The input of the first few stored predictions of each labeled input that carry one (the body is compact
// JSON, and only a top-level key can be written "input":{ unescaped).
const CANDIDATES = `
  SELECT coalesce(json_agg(json_build_array(h.input_hash, p.id, p.body::json -> 'input')), '[]')::text AS doc
  FROM json_array_elements_text($2::json) AS h (input_hash)
  CROSS JOIN LATERAL (
    SELECT id, body FROM events
    WHERE model = $1 AND input_hash = h.input_hash AND type = 'prediction' AND strpos(body, '"input":{') > 0
    ORDER BY seq LIMIT 3
  ) p`;

type SourceTuple = [sourceId: string, ...SourceColumns];

const CHUNK = 20_000;

export const batchSql: BatchSql = {
  ...COMMON_BATCH_SQL,
  insert:
    'INSERT INTO batches (id, model, sha256, counts, created_at, golden, replaces) VALUES (@id, @model, @sha256, @counts, @createdAt, @golden::int::boolean, @replaces)',
  list: 'SELECT * FROM batches WHERE model = @model AND NOT golden ORDER BY created_at, id',
  last: 'SELECT * FROM batches WHERE model = @model AND NOT golden ORDER BY created_at DESC, id DESC LIMIT 1',
};

/** The freeze's reads and writes on PostgreSQL: bulk reads as one JSON document, bulk writes as JSON. */
export const freezeQueries: FreezeQueries = {
  // Freezes and golden-set changes of one model, serialised across collectors until the transaction ends.
  *lock(model) {
    yield* run('SELECT pg_advisory_xact_lock(hashtext($1))', [`edgeloop-batches:${model}`]);
  },
  *sources(model) {
    // A first freeze sorts every label of the model: keep that sort in memory; the queries are simple, so
    // compiling them (JIT) costs more than it saves.
    yield* run("SET LOCAL work_mem = '256MB'; SET LOCAL jit = off");
    const doc = (yield* get<{ doc: string }>(COLLECT, [model]))!.doc;
    const seen = new Map<string, number>();
    const sources: LabelSource[] = (JSON.parse(doc) as SourceTuple[]).map(
      ([sourceId, inputHash, label, deviceId, ts, receivedAt, seenBefore]) => {
        if (seenBefore > 0) seen.set(inputHash, seenBefore);
        return {
          sourceId,
          kind: deviceId === null ? 'review' : 'correction',
          inputHash,
          label,
          deviceId,
          ts,
          receivedAt,
        };
      },
    );
    return { sources, seen };
  },
  *goldenHashes(model) {
    const found = yield* all<{ input_hash: string }>(
      'SELECT e.input_hash FROM golden_current g JOIN batch_examples e ON e.batch_id = g.batch_id WHERE g.model = $1',
      [model],
    );
    return found.map((r) => r.input_hash);
  },
  *candidates(model, hashes) {
    const byHash = new Map<string, InputCandidate[]>();
    const found = (yield* get<{ doc: string }>(CANDIDATES, [model, JSON.stringify(hashes)]))!.doc;
    for (const [inputHash, eventId, input] of JSON.parse(found) as [string, string, unknown][]) {
      const list = byHash.get(inputHash) ?? [];
      list.push({ eventId, input });
      byHash.set(inputHash, list);
    }
    return byHash;
  },
  *writeExamples(id, examples) {
    for (let i = 0; i < examples.length; i += CHUNK) {
      const chunk = examples.slice(i, i + CHUNK).map((e, j) => ({
        o: i + j,
        h: e.inputHash,
        l: e.label,
        s: e.split,
        e: e.sourceEventId,
        r: e.sources,
        x: e.line,
      }));
      yield* run(
        `INSERT INTO batch_examples (batch_id, ord, input_hash, label, split, source_event_id, sources, line)
         SELECT $1, o, h, l, s, e, r, x FROM json_to_recordset($2::json) AS t (o int, h text, l text, s text, e text, r text, x text)`,
        [id, JSON.stringify(chunk)],
      );
    }
  },
  recordOutcomes,
};
