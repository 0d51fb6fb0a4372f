/**
 * SQL for `batches`, `batch_examples` and `golden_current` on SQLite. A freeze is one IMMEDIATE transaction,
 * so freezes (and golden-set changes) of one file are serialised.
 */
import type { Migration } from '../migrations.js';
import { batchTables, SQLITE_TYPES } from '../schema.js';
import { guard, type SqliteDb } from './db.js';
import { predictionsWithHash } from './events.js';
import { sqliteRecordOutcomes } from './labels.js';
import { resolveLabels, type LabelSource, type Resolution } from '../../labels/resolver.js';
import { buildBatch, type BuiltBatch, type InputCandidate } from '../../labels/batch-content.js';
import { batchFromRow, lineageOf, type BatchRow, type BatchStore, type FreezePreview, type FreezeResult, type GoldenResult, type LineageRow } from '../../labels/store.js';

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

type SourceRow = [sourceId: string, kind: 'correction' | 'review', inputHash: string, label: string, deviceId: string | null, ts: number, receivedAt: number, seen: number];

export function sqliteBatchStore(db: SqliteDb): BatchStore {
  const recordOutcomes = sqliteRecordOutcomes(db);
  // Rows as arrays, read one at a time: a first freeze reads hundreds of thousands of them.
  const collect = db.prepare(COLLECT).raw();
  const candidates = db.prepare(CANDIDATES).raw();
  const goldenHashes = db.prepare(
    'SELECT e.input_hash FROM golden_current g JOIN batch_examples e ON e.batch_id = g.batch_id WHERE g.model = ?',
  ).pluck();
  const insertBatch = db.prepare('INSERT INTO batches (id, model, sha256, counts, created_at, golden, replaces) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const insertExample = db.prepare(
    'INSERT INTO batch_examples (batch_id, ord, input_hash, label, split, source_event_id, sources, line) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const selectBatch = db.prepare('SELECT * FROM batches WHERE id = ?');
  const selectList = db.prepare('SELECT * FROM batches WHERE model = ? AND golden = 0 ORDER BY created_at, id');
  const selectLast = db.prepare('SELECT * FROM batches WHERE model = ? AND golden = 0 ORDER BY created_at DESC, id DESC LIMIT 1');
  const selectLines = db.prepare('SELECT ord, line FROM batch_examples WHERE batch_id = ? AND ord > ? ORDER BY ord LIMIT ?');
  const selectLineage = db.prepare('SELECT input_hash, source_event_id, sources FROM batch_examples WHERE batch_id = ? ORDER BY ord');
  const selectGolden = db.prepare('SELECT b.* FROM golden_current g JOIN batches b ON b.id = g.batch_id WHERE g.model = ?');
  const setGolden = db.prepare(
    'INSERT INTO golden_current (model, batch_id) VALUES (?, ?) ON CONFLICT (model) DO UPDATE SET batch_id = excluded.batch_id',
  );

  function writeBatch(model: string, content: BuiltBatch, id: string, now: number, golden: boolean, replaces: string | null): void {
    insertBatch.run(id, model, content.sha256, JSON.stringify(content.counts), now, golden ? 1 : 0, replaces);
    content.examples.forEach((e, ord) => insertExample.run(id, ord, e.inputHash, e.label, e.split, e.sourceEventId, e.sources, e.line));
  }

  /** What a freeze of `model` would hold now. Reads only: the freeze and its dry run (`preview`) share it. */
  function resolveBatch(model: string, maxLabelsPerDevice: number): { resolution: Resolution; content: BuiltBatch } {
    const sources: LabelSource[] = [];
    const seen = new Map<string, number>();
    for (const [sourceId, kind, inputHash, label, deviceId, ts, receivedAt, seenBefore] of collect.iterate({ model }) as IterableIterator<SourceRow>) {
      sources.push({ sourceId, kind, inputHash, label, deviceId, ts, receivedAt });
      if (seenBefore > 0) seen.set(inputHash, seenBefore);
    }
    const golden = new Set(goldenHashes.all(model) as string[]);
    const resolution = resolveLabels(sources, { maxLabelsPerDevice, golden, seen });
    const labeled = resolution.decisions.filter((d) => d.label !== null).map((d) => d.inputHash);
    const byHash = new Map<string, InputCandidate[]>();
    if (labeled.length > 0) {
      for (const [inputHash, eventId, input] of candidates.iterate({ model, hashes: JSON.stringify(labeled) }) as IterableIterator<[string, string, string]>) {
        const list = byHash.get(inputHash) ?? [];
        list.push({ eventId, input: JSON.parse(input) as unknown });
        byHash.set(inputHash, list);
      }
    }
    return { resolution, content: buildBatch(resolution, byHash) };
  }

  const freezeTx = db.transaction((model: string, id: string, now: number, maxLabelsPerDevice: number): FreezeResult => {
    const { resolution, content } = resolveBatch(model, maxLabelsPerDevice);
    if (content.examples.length === 0) {
      // Nothing to train on: consume nothing, but ties must still reach the review queue.
      recordOutcomes(model, resolution.decisions, null, now);
      return { batch: null, counts: content.counts };
    }
    writeBatch(model, content, id, now, false, null);
    recordOutcomes(model, resolution.decisions, id, now);
    return { batch: batchFromRow(selectBatch.get(id) as BatchRow) };
  });

  // A deferred transaction that only reads: one WAL snapshot, and writers are not held up.
  const previewTx = db.transaction((model: string, maxLabelsPerDevice: number): FreezePreview => {
    const last = selectLast.get(model) as BatchRow | undefined;
    return { counts: resolveBatch(model, maxLabelsPerDevice).content.counts, lastBatch: last ? batchFromRow(last) : null };
  });

  const goldenTx = db.transaction((model: string, content: BuiltBatch, id: string, now: number, replaces: string | null): GoldenResult => {
    const row = selectGolden.get(model) as BatchRow | undefined;
    if (row) {
      const current = batchFromRow(row);
      if (current.sha256 === content.sha256) return { status: 'unchanged', batch: current };
      if (replaces !== current.id) return { status: 'conflict', current };
    }
    writeBatch(model, content, id, now, true, replaces);
    setGolden.run(model, id);
    return { status: 'created', batch: batchFromRow(selectBatch.get(id) as BatchRow) };
  });

  return {
    async freeze(model, { id, now, maxLabelsPerDevice }) {
      return guard(() => freezeTx.immediate(model, id, now, maxLabelsPerDevice));
    },
    async preview(model, { maxLabelsPerDevice }) {
      return guard(() => previewTx.deferred(model, maxLabelsPerDevice));
    },
    async list(model) {
      return guard(() => (selectList.all(model) as BatchRow[]).map(batchFromRow));
    },
    async get(id) {
      const row = guard(() => selectBatch.get(id)) as BatchRow | undefined;
      return row && batchFromRow(row);
    },
    async lines(id, afterOrd, limit) {
      return guard(() => selectLines.all(id, afterOrd, limit)) as { ord: number; line: string }[];
    },
    async lineage(id) {
      return lineageOf(guard(() => selectLineage.all(id)) as LineageRow[]);
    },
    async putGolden(model, content, { id, now, replaces }) {
      return guard(() => goldenTx.immediate(model, content, id, now, replaces));
    },
    async golden(model) {
      const row = guard(() => selectGolden.get(model)) as BatchRow | undefined;
      return row && batchFromRow(row);
    },
  };
}
