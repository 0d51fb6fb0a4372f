/**
 * SQL for `batches`, `batch_examples` and `golden_current` on SQLite. A freeze is one IMMEDIATE transaction,
 * so freezes (and golden-set changes) of one file are serialised.
 */
import type { Migration } from '../migrations.js';
import { baseDataTable, batchTables, SQLITE_TYPES } from '../schema.js';
import { predictionsWithHash } from './events.js';
import { recordOutcomes } from './labels.js';
import type { LabelSource } from '../../labels/resolver.js';
import type { InputCandidate } from '../../labels/batch-content.js';
import { COMMON_BATCH_SQL, type BatchSql, type FreezeQueries, type SourceColumns } from '../batches.js';
import { rows, run } from '../steps.js';

const immutable = (table: string) => `
  CREATE TRIGGER ${table}_no_update BEFORE UPDATE ON ${table} BEGIN SELECT RAISE(ABORT, '${table} rows are immutable'); END;
  CREATE TRIGGER ${table}_no_delete BEFORE DELETE ON ${table} BEGIN SELECT RAISE(ABORT, '${table} rows are immutable'); END;`;

export const batchMigrations: Migration[] = [
  {
    name: '102_batches',
    sql: `${batchTables(SQLITE_TYPES)}
      ${immutable('batches')}
      ${immutable('batch_examples')}
    
    `,
  },
  { name: '103_base_data', sql: baseDataTable },
];

// Every label of each pending input (one with more sources than the last batch that resolved it saw), sorted by
// input, with that count: one pass over the corrections, counted here so that an idle model sends no rows; the
// resolver gets the whole history of each pending input (it decides the vote).
const COLLECT = `
  WITH sources AS MATERIALIZED (
    SELECT c.id AS source_id, 'correction' AS kind, p.input_hash, c.label, c.device_id, c.ts, c.received_at
    FROM events c JOIN events p ON p.id = c.prediction_id
    WHERE c.model = @model AND c.type = 'correction' AND p.type = 'prediction' AND p.model = @model
    UNION ALL
    SELECT r.id, 'review', r.input_hash, r.label, NULL, r.created_at, r.created_at FROM reviews r WHERE r.model = @model
  ),
  pending AS MATERIALIZED (
    SELECT k.input_hash, coalesce(l.sources, 0) AS seen
    FROM (SELECT input_hash, count(*) AS n FROM sources GROUP BY input_hash) k
    LEFT JOIN input_labels l ON l.model = @model AND l.input_hash = k.input_hash
    WHERE k.n > coalesce(l.sources, 0)
  )
  SELECT s.*, (SELECT seen FROM pending p WHERE p.input_hash = s.input_hash) AS seen
  FROM sources s WHERE s.input_hash IN (SELECT input_hash FROM pending)
  ORDER BY 3, 1`;

// The input of the first few stored predictions of each labeled input that carry one (the body is compact
// JSON, and only a top-level key can be written "input":{ unescaped).
const CANDIDATES = `
  SELECT input_hash, id, input FROM (
    SELECT e.input_hash, e.id, json_extract(e.body, '$.input') AS input, ROW_NUMBER() OVER (PARTITION BY e.input_hash ORDER BY e.seq) AS rn
    ${predictionsWithHash(`instr(e.body, '"input":{') > 0`)}
  ) WHERE rn <= 3 ORDER BY input_hash, rn`;

type SourceRow = [sourceId: string, kind: 'correction' | 'review', ...SourceColumns];

export const batchSql: BatchSql = {
  ...COMMON_BATCH_SQL,
  insert:
    'INSERT INTO batches (id, model, sha256, counts, created_at, golden, replaces) VALUES (@id, @model, @sha256, @counts, @createdAt, @golden, @replaces)',
  list: 'SELECT * FROM batches WHERE model = @model AND golden = 0 ORDER BY created_at, id',
  last: 'SELECT * FROM batches WHERE model = @model AND golden = 0 ORDER BY created_at DESC, id DESC LIMIT 1',
};

const INSERT_EXAMPLE =
  'INSERT INTO batch_examples (batch_id, ord, input_hash, label, split, source_event_id, sources, line) VALUES (?, ?, ?, ?, ?, ?, ?, ?)';

/** The freeze's reads and writes on SQLite: rows as arrays (a first freeze reads hundreds of thousands). */
export const freezeQueries: FreezeQueries = {
  // The write transaction is IMMEDIATE: it holds the file's write lock already.
  *lock() {},
  *sources(model) {
    const sources: LabelSource[] = [];
    const seen = new Map<string, number>();
    for (const [sourceId, kind, inputHash, label, deviceId, ts, receivedAt, seenBefore] of yield* rows<SourceRow>(
      COLLECT,
      { model },
    )) {
      sources.push({ sourceId, kind, inputHash, label, deviceId, ts, receivedAt });
      if (seenBefore > 0) seen.set(inputHash, seenBefore);
    }
    return { sources, seen };
  },
  *goldenHashes(model) {
    const found = yield* rows<[string]>(
      'SELECT e.input_hash FROM golden_current g JOIN batch_examples e ON e.batch_id = g.batch_id WHERE g.model = ?',
      [model],
    );
    return found.map(([h]) => h);
  },
  *candidates(model, hashes) {
    const byHash = new Map<string, InputCandidate[]>();
    for (const [inputHash, eventId, input] of yield* rows<[string, string, string]>(CANDIDATES, {
      model,
      hashes: JSON.stringify(hashes),
    })) {
      const list = byHash.get(inputHash) ?? [];
      list.push({ eventId, input: JSON.parse(input) as unknown });
      byHash.set(inputHash, list);
    }
    return byHash;
  },
  *writeExamples(id, examples) {
    for (const [ord, e] of examples.entries())
      yield* run(INSERT_EXAMPLE, [id, ord, e.inputHash, e.label, e.split, e.sourceEventId, e.sources, e.line]);
  },
  recordOutcomes,
};
