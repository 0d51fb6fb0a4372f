/**
 * SQL for `batches`, `batch_examples` and `golden_current` on PostgreSQL. Freezes and golden-set changes of
 * one model are serialised across collectors by a transaction-scoped advisory lock. Bulk reads come back as
 * one JSON document and bulk writes go in as JSON: far cheaper than a driver round-trip per row or value.
 */
import type { Migration } from '../migrations.js';
import { batchTables, POSTGRES_TYPES } from '../schema.js';
import { guard, inTransaction, type PgClient, type PgPool } from './db.js';
import { postgresRecordOutcomes } from './labels.js';
import { resolveLabels, type LabelSource, type Resolution } from '../../labels/resolver.js';
import { buildBatch, type BuiltBatch, type InputCandidate } from '../../labels/batch-content.js';
import { batchFromRow, lineageOf, type BatchRow, type BatchStore, type LineageRow } from '../../labels/store.js';

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

type SourceTuple = [sourceId: string, inputHash: string, label: string, deviceId: string | null, ts: number, receivedAt: number, seen: number];

const CHUNK = 20_000;

async function lockModel(c: PgClient, model: string): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`edgeloop-batches:${model}`]);
}

async function writeBatch(c: PgClient, model: string, content: BuiltBatch, id: string, now: number, golden: boolean, replaces: string | null): Promise<void> {
  await c.query('INSERT INTO batches (id, model, sha256, counts, created_at, golden, replaces) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
    id, model, content.sha256, JSON.stringify(content.counts), now, golden, replaces,
  ]);
  for (let i = 0; i < content.examples.length; i += CHUNK) {
    const rows = content.examples.slice(i, i + CHUNK).map((e, j) => ({ o: i + j, h: e.inputHash, l: e.label, s: e.split, e: e.sourceEventId, r: e.sources, x: e.line }));
    await c.query(
      `INSERT INTO batch_examples (batch_id, ord, input_hash, label, split, source_event_id, sources, line)
       SELECT $1, o, h, l, s, e, r, x FROM json_to_recordset($2::json) AS t (o int, h text, l text, s text, e text, r text, x text)`,
      [id, JSON.stringify(rows)],
    );
  }
}

async function currentGolden(c: PgClient | PgPool, model: string): Promise<BatchRow | undefined> {
  const r = await c.query<BatchRow>('SELECT b.* FROM golden_current g JOIN batches b ON b.id = g.batch_id WHERE g.model = $1', [model]);
  return r.rows[0];
}

/** What a freeze of `model` would hold now. Reads only: the freeze and its dry run (`preview`) share it. */
async function resolveBatch(c: PgClient, model: string, maxLabelsPerDevice: number): Promise<{ resolution: Resolution; content: BuiltBatch }> {
  // A first freeze sorts every label of the model: keep that sort in memory; the queries are simple, so
  // compiling them (JIT) costs more than it saves.
  await c.query("SET LOCAL work_mem = '256MB'; SET LOCAL jit = off");
  const doc = (await c.query<{ doc: string }>(COLLECT, [model])).rows[0]!.doc;
  const seen = new Map<string, number>();
  const sources: LabelSource[] = (JSON.parse(doc) as SourceTuple[]).map(([sourceId, inputHash, label, deviceId, ts, receivedAt, seenBefore]) => {
    if (seenBefore > 0) seen.set(inputHash, seenBefore);
    return { sourceId, kind: deviceId === null ? 'review' : 'correction', inputHash, label, deviceId, ts, receivedAt };
  });
  const goldenRows = await c.query<{ input_hash: string }>(
    'SELECT e.input_hash FROM golden_current g JOIN batch_examples e ON e.batch_id = g.batch_id WHERE g.model = $1',
    [model],
  );
  const golden = new Set(goldenRows.rows.map((r) => r.input_hash));
  const resolution = resolveLabels(sources, { maxLabelsPerDevice, golden, seen });
  const labeled = resolution.decisions.filter((d) => d.label !== null).map((d) => d.inputHash);
  const byHash = new Map<string, InputCandidate[]>();
  if (labeled.length > 0) {
    const found = (await c.query<{ doc: string }>(CANDIDATES, [model, JSON.stringify(labeled)])).rows[0]!.doc;
    for (const [inputHash, eventId, input] of JSON.parse(found) as [string, string, unknown][]) {
      const list = byHash.get(inputHash) ?? [];
      list.push({ eventId, input });
      byHash.set(inputHash, list);
    }
  }
  return { resolution, content: buildBatch(resolution, byHash) };
}

export function postgresBatchStore(pool: PgPool): BatchStore {
  const one = async (id: string, c: PgClient | PgPool = pool) => (await c.query<BatchRow>('SELECT * FROM batches WHERE id = $1', [id])).rows[0];
  return {
    async freeze(model, { id, now, maxLabelsPerDevice }) {
      // READ COMMITTED: each statement sees everything committed before it, including the last freeze we waited for.
      return inTransaction(pool, async (c) => {
        await lockModel(c, model);
        const { resolution, content } = await resolveBatch(c, model, maxLabelsPerDevice);
        if (content.examples.length === 0) {
          // Nothing to train on: consume nothing, but ties must still reach the review queue.
          await postgresRecordOutcomes(c, model, resolution.decisions, null, now);
          return { batch: null, counts: content.counts };
        }
        await writeBatch(c, model, content, id, now, false, null);
        await postgresRecordOutcomes(c, model, resolution.decisions, id, now);
        return { batch: batchFromRow((await one(id, c))!) };
      });
    },
    async preview(model, { maxLabelsPerDevice }) {
      // One snapshot for every read and no lock: a preview never waits on a freeze, nor holds one up.
      return inTransaction(pool, async (c) => {
        await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
        const last = await c.query<BatchRow>('SELECT * FROM batches WHERE model = $1 AND NOT golden ORDER BY created_at DESC, id DESC LIMIT 1', [model]);
        const { content } = await resolveBatch(c, model, maxLabelsPerDevice);
        return { counts: content.counts, lastBatch: last.rows[0] ? batchFromRow(last.rows[0]) : null };
      });
    },
    async list(model) {
      const r = await guard(() => pool.query<BatchRow>('SELECT * FROM batches WHERE model = $1 AND NOT golden ORDER BY created_at, id', [model]));
      return r.rows.map(batchFromRow);
    },
    async get(id) {
      const row = await guard(() => one(id));
      return row && batchFromRow(row);
    },
    async lines(id, afterOrd, limit) {
      const r = await guard(() =>
        pool.query<{ ord: number; line: string }>('SELECT ord, line FROM batch_examples WHERE batch_id = $1 AND ord > $2 ORDER BY ord LIMIT $3', [id, afterOrd, limit]),
      );
      return r.rows;
    },
    async lineage(id) {
      const r = await guard(() =>
        pool.query<LineageRow>('SELECT input_hash, source_event_id, sources FROM batch_examples WHERE batch_id = $1 ORDER BY ord', [id]),
      );
      return lineageOf(r.rows);
    },
    async putGolden(model, content, { id, now, replaces }) {
      return inTransaction(pool, async (c) => {
        await lockModel(c, model);
        const row = await currentGolden(c, model);
        if (row) {
          const current = batchFromRow(row);
          if (current.sha256 === content.sha256) return { status: 'unchanged' as const, batch: current };
          if (replaces !== current.id) return { status: 'conflict' as const, current };
        }
        await writeBatch(c, model, content, id, now, true, replaces);
        await c.query('INSERT INTO golden_current (model, batch_id) VALUES ($1, $2) ON CONFLICT (model) DO UPDATE SET batch_id = excluded.batch_id', [model, id]);
        return { status: 'created' as const, batch: batchFromRow((await one(id, c))!) };
      });
    },
    async golden(model) {
      const row = await guard(() => currentGolden(pool, model));
      return row && batchFromRow(row);
    },
  };
}
