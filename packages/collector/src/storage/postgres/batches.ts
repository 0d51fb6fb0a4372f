/**
 * SQL for `batches`, `batch_examples`, `batch_sources` and `golden_current` on PostgreSQL. Freezes and
 * golden-set changes of one model are serialised across collectors by a transaction-scoped advisory lock;
 * the primary key on `batch_sources.source_id` makes a label impossible to consume twice all the same.
 */
import type { Migration } from '../migrations.js';
import { guard, inTransaction, type PgClient, type PgPool } from './db.js';
import { postgresRecordOutcomes } from './labels.js';
import { resolveLabels, type LabelSource, type SourceUse } from '../../labels/resolver.js';
import { buildBatch, type BuiltBatch, type InputCandidate } from '../../labels/batch-content.js';
import { batchFromRow, type BatchRow, type BatchStore, type LineageEntry } from '../../labels/store.js';

export const batchMigrations: Migration[] = [
  {
    name: '102_batches',
    sql: `
      CREATE TABLE batches (
        id TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        counts TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        golden BOOLEAN NOT NULL,
        replaces TEXT
      );
      CREATE INDEX batches_model ON batches (model, golden, created_at);
      CREATE TABLE batch_examples (
        batch_id TEXT NOT NULL REFERENCES batches (id),
        ord INTEGER NOT NULL,
        input_hash TEXT NOT NULL,
        label TEXT NOT NULL,
        split TEXT NOT NULL,
        source_event_id TEXT,
        line TEXT NOT NULL,
        PRIMARY KEY (batch_id, ord)
      );
      -- Which labels each batch consumed: "since the last batch" is "not in here", which no late commit can skip.
      CREATE TABLE batch_sources (
        source_id TEXT PRIMARY KEY,
        batch_id TEXT NOT NULL REFERENCES batches (id),
        kind TEXT NOT NULL,
        input_hash TEXT NOT NULL,
        role TEXT NOT NULL
      );
      CREATE INDEX batch_sources_batch ON batch_sources (batch_id);
      CREATE TABLE golden_current (
        model TEXT PRIMARY KEY,
        batch_id TEXT NOT NULL REFERENCES batches (id)
      );
      CREATE FUNCTION batch_rows_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME; END $$;
      CREATE TRIGGER batches_immutable BEFORE UPDATE OR DELETE ON batches FOR EACH ROW EXECUTE FUNCTION batch_rows_immutable();
      CREATE TRIGGER batch_examples_immutable BEFORE UPDATE OR DELETE ON batch_examples FOR EACH ROW EXECUTE FUNCTION batch_rows_immutable();
      CREATE TRIGGER batch_sources_immutable BEFORE UPDATE OR DELETE ON batch_sources FOR EACH ROW EXECUTE FUNCTION batch_rows_immutable();
    `,
  },
];

// Every label of the model, sorted by input, with whether a batch consumed it: one pass over the corrections,
// and the resolver keeps the inputs that have a new one (their history decides the vote).
const COLLECT = `
  SELECT c.id AS source_id, 'correction' AS kind, p.input_hash, c.label, c.device_id, c.ts, c.received_at, s.source_id IS NOT NULL AS consumed
  FROM events c JOIN events p ON p.id = c.prediction_id LEFT JOIN batch_sources s ON s.source_id = c.id
  WHERE c.model = $1 AND c.type = 'correction' AND p.type = 'prediction' AND p.model = $1
  UNION ALL
  SELECT r.id, 'review', r.input_hash, r.label, NULL, r.created_at, r.created_at, s.source_id IS NOT NULL
  FROM reviews r LEFT JOIN batch_sources s ON s.source_id = r.id WHERE r.model = $1
  ORDER BY 3, 1`;

// The input of the first few stored predictions of each labeled input that carry one (the body is compact
// JSON, and only a top-level key can be written "input":{ unescaped).
const CANDIDATES = `
  SELECT input_hash, id, input FROM (
    SELECT input_hash, id, (body::json -> 'input')::text AS input, ROW_NUMBER() OVER (PARTITION BY input_hash ORDER BY seq) AS rn
    FROM events
    WHERE model = $1 AND type = 'prediction' AND input_hash = ANY($2::text[]) AND strpos(body, '"input":{') > 0
  ) t WHERE rn <= 3 ORDER BY input_hash, rn`;

interface SourceRow {
  source_id: string;
  kind: 'correction' | 'review';
  input_hash: string;
  label: string;
  device_id: string | null;
  ts: string;
  received_at: string;
  consumed: boolean;
}

const CHUNK = 5000;

async function lockModel(c: PgClient, model: string): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`edgeloop-batches:${model}`]);
}

async function writeBatch(c: PgClient, model: string, content: BuiltBatch, id: string, now: number, golden: boolean, replaces: string | null): Promise<void> {
  await c.query('INSERT INTO batches (id, model, sha256, counts, created_at, golden, replaces) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
    id, model, content.sha256, JSON.stringify(content.counts), now, golden, replaces,
  ]);
  for (let i = 0; i < content.examples.length; i += CHUNK) {
    const part = content.examples.slice(i, i + CHUNK);
    await c.query(
      `INSERT INTO batch_examples (batch_id, ord, input_hash, label, split, source_event_id, line)
       SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
      [id, part.map((_, j) => i + j), part.map((e) => e.inputHash), part.map((e) => e.label), part.map((e) => e.split), part.map((e) => e.sourceEventId), part.map((e) => e.line)],
    );
  }
}

async function writeSources(c: PgClient, id: string, uses: readonly SourceUse[]): Promise<void> {
  for (let i = 0; i < uses.length; i += CHUNK) {
    const part = uses.slice(i, i + CHUNK);
    await c.query(
      `INSERT INTO batch_sources (source_id, batch_id, kind, input_hash, role)
       SELECT s, $1, k, h, r FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS t (s, k, h, r)`,
      [id, part.map((u) => u.sourceId), part.map((u) => u.kind), part.map((u) => u.inputHash), part.map((u) => u.role)],
    );
  }
}

async function currentGolden(c: PgClient | PgPool, model: string): Promise<BatchRow | undefined> {
  const r = await c.query<BatchRow>('SELECT b.* FROM golden_current g JOIN batches b ON b.id = g.batch_id WHERE g.model = $1', [model]);
  return r.rows[0];
}

export function postgresBatchStore(pool: PgPool): BatchStore {
  const one = async (id: string, c: PgClient | PgPool = pool) => (await c.query<BatchRow>('SELECT * FROM batches WHERE id = $1', [id])).rows[0];
  return {
    async freeze(model, { id, now, maxLabelsPerDevice }) {
      // READ COMMITTED: each statement sees everything committed before it, including the last freeze we waited for.
      return inTransaction(pool, async (c) => {
        await lockModel(c, model);
        const rows = (await c.query<SourceRow>(COLLECT, [model])).rows;
        const sources: LabelSource[] = rows.map((r) => ({
          sourceId: r.source_id,
          kind: r.kind,
          inputHash: r.input_hash,
          label: r.label,
          deviceId: r.device_id,
          ts: Number(r.ts),
          receivedAt: Number(r.received_at),
          consumed: r.consumed,
        }));
        const goldenRows = await c.query<{ input_hash: string }>(
          'SELECT e.input_hash FROM golden_current g JOIN batch_examples e ON e.batch_id = g.batch_id WHERE g.model = $1',
          [model],
        );
        const golden = new Set(goldenRows.rows.map((r) => r.input_hash));
        const resolution = resolveLabels(sources, { maxLabelsPerDevice, golden });
        const labeled = resolution.decisions.filter((d) => d.label !== null).map((d) => d.inputHash);
        const byHash = new Map<string, InputCandidate[]>();
        if (labeled.length > 0) {
          const found = await c.query<{ input_hash: string; id: string; input: string }>(CANDIDATES, [model, labeled]);
          for (const r of found.rows) {
            const list = byHash.get(r.input_hash) ?? [];
            list.push({ eventId: r.id, input: r.input });
            byHash.set(r.input_hash, list);
          }
        }
        const content = buildBatch(resolution, byHash);
        if (content.examples.length === 0) {
          // Nothing to train on: consume nothing, but ties must still reach the review queue.
          await postgresRecordOutcomes(c, model, resolution.decisions, null, now);
          return { batch: null, counts: content.counts };
        }
        await writeBatch(c, model, content, id, now, false, null);
        await writeSources(c, id, resolution.uses);
        await postgresRecordOutcomes(c, model, resolution.decisions, id, now);
        return { batch: batchFromRow((await one(id, c))!) };
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
        pool.query<LineageEntry>(
          `SELECT source_id AS "eventId", kind, input_hash AS "inputHash", role FROM batch_sources WHERE batch_id = $1
           UNION ALL
           SELECT source_event_id, 'input', input_hash, 'input' FROM batch_examples WHERE batch_id = $1 AND source_event_id IS NOT NULL`,
          [id],
        ),
      );
      return r.rows;
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
