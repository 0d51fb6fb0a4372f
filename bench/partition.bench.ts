/**
 * What partitioning the events table costs PostgreSQL per insert (issue 14): the collector's 100-row statement
 * (`INSERT … SELECT FROM json_to_recordset … ON CONFLICT DO NOTHING`) on the unpartitioned table as it was before
 * migration `401_events_partitioned` (same columns and indexes, `UNIQUE (id)`) and on the partitioned one (a store
 * migrated by this code: day partitions from today to 3 days ahead, DEFAULT, `UNIQUE (id, part_ms)`), one
 * connection each, statements alternating so that both see the same load. Also 100 duplicates resent (every row a
 * conflict). Server-side cost only: the collector's own CPU per event does not change (same code, same parameter).
 *
 * Run: npm run bench -- partition   (PARTITION_BATCHES=N statements per table, default 1000)
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { newId } from '@edgeloop/protocol';
import { openStorage } from '@edgeloop/collector';
import { PG_INSERT_EVENTS } from '@edgeloop/collector/internal';
import { percentile, report, type Row } from './report.js';

const PG_URL = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const BATCHES = Number(process.env.PARTITION_BATCHES ?? 1000);
const UNPARTITIONED_INSERT = PG_INSERT_EVENTS.replace(', body, part_ms)', ', body)')
  .replace(', body, events_part_ms(id)', ', body')
  .replace('(id, part_ms)', '(id)');

const batch = () =>
  JSON.stringify(
    Array.from({ length: 100 }, (_, i) => ({
      id: newId(),
      model: 'digits',
      version: 'v1',
      device_id: `device-${i}`,
      type: 'prediction',
      ts: Date.now(),
      received_at: Date.now(),
      input_hash: randomBytes(32).toString('hex'),
      prediction_id: null,
      label: String(i % 10),
      confidence: 0.41,
      reason: 'low_confidence',
      body: JSON.stringify({ pad: 'x'.repeat(300) }),
    })),
  );

async function timed(c: pg.Client, sql: string, param: string): Promise<number> {
  const t = process.hrtime.bigint();
  await c.query(sql, [param]);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const tag = randomBytes(4).toString('hex');
const before = `bench_unpart_${tag}`;
const after = `bench_part_${tag}`;
const admin = new pg.Client({ connectionString: PG_URL });
await admin.connect();
const storage = openStorage({ postgres: { url: PG_URL, schema: after } });
const clients: pg.Client[] = [];
try {
  await admin.query(`CREATE SCHEMA ${before}; SET search_path = ${before};
    CREATE TABLE events (seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, model TEXT NOT NULL, version TEXT NOT NULL,
      device_id TEXT NOT NULL, type TEXT NOT NULL, ts BIGINT NOT NULL, received_at BIGINT NOT NULL, input_hash TEXT,
      prediction_id TEXT, label TEXT, confidence DOUBLE PRECISION, reason TEXT, body TEXT NOT NULL);
    CREATE INDEX events_model_type ON events (model, type, seq);
    CREATE INDEX events_prediction ON events (prediction_id) WHERE prediction_id IS NOT NULL;
    CREATE INDEX events_input_hash ON events (model, input_hash) WHERE input_hash IS NOT NULL;
    CREATE INDEX events_model_type_received ON events (model, type, received_at);`);
  await storage.migrate();
  await storage.close();
  const [cu, cp] = [before, after].map((schema) => {
    const c = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
    clients.push(c);
    return c;
  }) as [pg.Client, pg.Client];
  await Promise.all(clients.map((c) => c.connect()));
  const sides = [
    { name: 'unpartitioned (before)', c: cu, sql: UNPARTITIONED_INSERT, fresh: [] as number[], dup: [] as number[] },
    { name: 'partitioned by day (after)', c: cp, sql: PG_INSERT_EVENTS, fresh: [] as number[], dup: [] as number[] },
  ];
  for (let i = 0; i < BATCHES; i++) {
    for (const s of i % 2 ? [...sides].reverse() : sides) s.fresh.push(await timed(s.c, s.sql, batch()));
  }
  const resent = batch();
  for (const s of sides) await s.c.query(s.sql, [resent]);
  for (let i = 0; i < 200; i++)
    for (const s of i % 2 ? [...sides].reverse() : sides) s.dup.push(await timed(s.c, s.sql, resent));
  const rows: Row[] = sides.map((s) => ({
    table: s.name,
    'new rows: p10 ms / 100 rows': Number(percentile(s.fresh, 10).toFixed(2)),
    'new rows: p50 ms / 100 rows': Number(percentile(s.fresh, 50).toFixed(2)),
    'duplicates: p50 ms / 100 rows': Number(percentile(s.dup, 50).toFixed(2)),
  }));
  report('partition', rows, { batches: BATCHES, rowsPerStatement: 100 });
} finally {
  await Promise.all(clients.map((c) => c.end().catch(() => {})));
  await admin.query(`DROP SCHEMA IF EXISTS ${before} CASCADE; DROP SCHEMA IF EXISTS ${after} CASCADE`);
  await admin.end();
}
