/**
 * Fills a migrated, empty store with N events of a realistic mix, in bulk (SQLite: large transactions with sync
 * off; PostgreSQL: COPY, then ANALYZE). Shared by the benches that need a big store (freeze, admin).
 *
 * Mix (of N events): 60 % predictions (70 % sample, 20 % low-confidence, 10 % reported; every one with an
 * 8×8 uint8 input), 20 % corrections over 13 % of the predictions (2.5 per labeled input, 80 % right, from
 * 20,000 devices), 15 % stats, 5 % errors. By default one version over 1,000,000 ms from 2026-01-01; `from`,
 * `spanMs` and `versionOf` spread them over days and versions (without changing the rest of the mix).
 */
import { createHash, randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { newId, uuidv7Time, type Event, type StatsEvent } from '@edgeloop/protocol';
import { eventRow, type EventRow } from './events.js';
import { mulberry32 } from '@edgeloop/trainer';

export interface FillOptions {
  model: string;
  /** Time of the first event; default 2026-01-01. */
  from?: number;
  /**
   * Spread the predictions (with their stats and errors) evenly over this many ms from `from`, each received at its
   * device time, and each correction 0 to 60 minutes after its prediction. Default: one event a millisecond in
   * push order (predictions first, corrections last), received one a millisecond.
   */
  spanMs?: number;
  /** The version of an event at this time (a correction takes its prediction's); default `v1`. */
  versionOf?: (ts: number) => string;
  /** The counters of a stats window ending at this time; default the same window every time. */
  statsOf?: (ts: number) => Partial<StatsEvent>;
}

/** The events of the mix, as `events` table rows, in chunks (one chunk never holds all 1M bodies). */
export function* eventRows(n: number, opts: FillOptions, chunk = 20_000): Generator<EventRow[]> {
  const rand = mulberry32(42);
  const predictions = Math.round(n * 0.6);
  const corrections = Math.round(n * 0.2);
  const stats = Math.round(n * 0.15);
  const errors = n - predictions - corrections - stats;
  const labeled: { id: string; label: string; version: string; ts: number }[] = [];
  let rows: EventRow[] = [];
  const t0 = opts.from ?? Date.UTC(2026, 0, 1);
  const spread = opts.spanMs !== undefined;
  const step = spread ? opts.spanMs! / predictions : 1;
  const at = (k: number) => t0 + Math.floor(k * step);
  const versionOf = opts.versionOf ?? (() => 'v1');
  let clock = 0;
  const push = (e: Event) => rows.push(eventRow(e, spread ? e.ts : t0 + clock++));
  const base = (ts: number, version = versionOf(ts)) => ({
    id: newId(),
    model: opts.model,
    version,
    deviceId: `dev-${Math.floor(rand() * 20_000)}`,
    ts,
  });
  const others = stats + errors;
  for (let k = 0; k < predictions; k++) {
    const bytes = randomBytes(64);
    const truth = String(k % 10);
    const reason = k % 10 < 7 ? 'sample' : k % 10 < 9 ? 'low_confidence' : 'reported';
    const confidence = reason === 'low_confidence' ? 0.3 + rand() * 0.2 : 0.6 + rand() * 0.4;
    const e: Event = {
      ...base(at(k)),
      type: 'prediction',
      reason,
      input: { dtype: 'uint8', shape: [8, 8], data: bytes.toString('base64') },
      inputHash: createHash('sha256').update(bytes).digest('hex'),
      output: {
        label: truth,
        confidence,
        topK: [
          { label: truth, p: confidence },
          { label: String((k + 1) % 10), p: (1 - confidence) / 2 },
        ],
      },
      engine: 'ort-wasm',
      latencyMs: 2 + rand() * 5,
    };
    push(e);
    if (reason !== 'sample' && k % 9 < 4) labeled.push({ id: e.id, label: truth, version: e.version, ts: e.ts });
    // Stats and errors are spread among the predictions.
    if (k % Math.ceil(predictions / others) === 0) {
      if (rand() < stats / others) {
        push({
          ...base(at(k)),
          type: 'stats',
          from: at(k) - 60_000,
          to: at(k),
          predictions: 120,
          lowConfidence: 20,
          corrections: 3,
          errors: 0,
          latencyMs: { p50: 3, p95: 9 },
          confidenceHist: [0, 0, 1, 3, 8, 10, 14, 20, 30, 34],
          labelCounts: { '1': 40, '7': 50, '3': 30 },
          ...opts.statsOf?.(at(k)),
        });
      } else {
        push({
          ...base(at(k)),
          type: 'error',
          code: 'ENGINE_FAILED',
          message: 'the session could not be created on this device (webgpu lost)',
        });
      }
    }
    if (rows.length >= chunk) {
      yield rows;
      rows = [];
    }
  }
  for (let j = 0; j < corrections; j++) {
    const target = labeled[j % labeled.length]!;
    const label = rand() < 0.8 ? target.label : String(Math.floor(rand() * 10));
    push({
      // Spread: within the hour after the prediction (no draw from `rand`, so the rest of the mix is unchanged).
      ...base(
        spread ? Math.min(t0 + opts.spanMs!, target.ts + ((j * 7919) % 3600) * 1000) : at(predictions + j),
        target.version,
      ),
      type: 'correction',
      predictionId: target.id,
      label,
      ...(rand() < 0.1 ? { comment: 'that is not what I drew' } : {}),
    });
    if (rows.length >= chunk) {
      yield rows;
      rows = [];
    }
  }
  if (rows.length) yield rows;
}

const COLUMNS =
  'id, model, version, device_id, type, ts, received_at, input_hash, prediction_id, label, confidence, reason, body';

/** Loads N events into the migrated SQLite file at `path` (closed on return). Returns how many. */
export async function loadSqlite(path: string, n: number, opts: FillOptions): Promise<number> {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const insert = db.prepare(`INSERT INTO events (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const many = db.transaction((rows: EventRow[]) => {
    for (const r of rows) insert.run(...r);
  });
  let count = 0;
  for (const rows of eventRows(n, opts)) {
    many(rows);
    count += rows.length;
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return count;
}

const copyText = (v: string | number | null) =>
  v === null
    ? '\\N'
    : String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');

/** Loads N events into `schema` of the migrated PostgreSQL at `url` with COPY, then ANALYZE. Returns how many. */
export async function loadPostgres(url: string, schema: string, n: number, opts: FillOptions): Promise<number> {
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await client.connect();
  let count = 0;
  try {
    const lines = Readable.from(
      (function* () {
        for (const rows of eventRows(n, opts)) {
          count += rows.length;
          // part_ms, the partition key: the id's time (what the collector's insert computes in SQL).
          yield rows.map((r) => [...r, uuidv7Time(String(r[0])) ?? 0].map(copyText).join('\t')).join('\n') + '\n';
        }
      })(),
    );
    await pipeline(lines, client.query(copyFrom(`COPY events (${COLUMNS}, part_ms) FROM STDIN`)));
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
  return count;
}
