/**
 * Ingest throughput over HTTP against the raw store, per store, in the same run.
 *
 *   http: the collector in its own process (as deployed), CLIENTS concurrent keep-alive connections (autocannon) in this process
 *         POSTing batches of 100 events of ~400 bytes to /v1/events, each acked only after its commit.
 *   raw:  the same rows (same table, indexes and pragmas, the collector's own INSERT … ON CONFLICT DO NOTHING;
 *         on PostgreSQL its one-JSON-parameter statement) written by the database driver directly, one transaction
 *         per 100 rows, row values computed before the clock starts — on SQLite one connection (one writer), on
 *         PostgreSQL CLIENTS connections at once.
 *
 * Each measurement starts from an empty store; the figure is the median of REPS. Run: npm run bench -- ingest
 */
import { fork, type ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
import { closeSync, copyFileSync, fdatasyncSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { newId, type Event } from '@edgeloop/protocol';
import { openStorage, startServer, type StorageOptions } from '@edgeloop/collector';
import { PG_INSERT_EVENTS as INSERT_EVENTS, sqliteConnection } from '@edgeloop/collector/internal';
import { percentile, report, type Row } from './report.js';
import { dropSchema } from './pg.js';
import { eventRow } from './events.js';

const PG_URL = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
type Kind = 'sqlite' | 'postgres';
const BATCH = 100;
const CLIENTS = Number(process.env.INGEST_CLIENTS ?? 8);
const EVENTS = Number(process.env.INGEST_EVENTS ?? 60_000);
const WARMUP = 20 * BATCH;
const REPS = Number(process.env.INGEST_REPS ?? 3);
const KEY = 'bench-ingest-key-0123456789abcdef';
// INGEST_PREFILL=N measures SQLite stores that already hold N events (each measurement on a copy of one file).
const PREFILL = Number(process.env.INGEST_PREFILL ?? 0);
const STORES = (process.env.INGEST_STORES ?? (PREFILL ? 'sqlite' : 'sqlite,postgres')).split(',') as Kind[];
// INGEST_COLLECTORS=2 adds, per PostgreSQL rep, a run through 2 collector processes on the same database (the
// clients split between them): the scale-out ratio. SQLite is one file on one machine: one collector only.
const COLLECTORS = Number(process.env.INGEST_COLLECTORS ?? 1);

// ---------------------------------------------------------------- fixtures

/** A prediction of about 400 bytes as JSON, like a device sends. */
function event(i: number): Event {
  return {
    id: newId(),
    model: 'digits',
    version: 'v1',
    deviceId: `device-${i % 1000}`,
    ts: Date.now(),
    type: 'prediction',
    reason: i % 3 === 0 ? 'sample' : 'low_confidence',
    inputHash: randomBytes(32).toString('hex'),
    output: {
      label: String(i % 10),
      confidence: 0.41,
      topK: [
        { label: String(i % 10), p: 0.41 },
        { label: '1', p: 0.33 },
        { label: '9', p: 0.12 },
      ],
    },
    engine: 'ort-wasm',
    latencyMs: 3.2,
  };
}

function batches(n: number): Event[][] {
  const out: Event[][] = [];
  for (let i = 0; i < n; i += BATCH) out.push(Array.from({ length: BATCH }, (_, j) => event(i + j)));
  return out;
}

// ---------------------------------------------------------------- stores

interface FreshStore {
  options: StorageOptions;
  dataDir: string;
  drop(): Promise<void>;
}

let template: string | undefined;

/** A migrated SQLite file holding PREFILL events (made once, copied for each measurement). */
async function prefilled(): Promise<string> {
  if (template) return template;
  const path = join(mkdtempSync(join(tmpdir(), 'edgeloop-bench-template-')), 'edgeloop.db');
  const storage = openStorage({ sqlite: { path } });
  await storage.migrate();
  await storage.close();
  const db = new Database(path);
  db.pragma('synchronous = OFF');
  const insert =
    db.prepare(`INSERT INTO events (id, model, version, device_id, type, ts, received_at, input_hash, prediction_id, label, confidence, reason, body)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const many = db.transaction((rows: unknown[][]) => {
    for (const r of rows) insert.run(...r);
  });
  const now = Date.now();
  for (let i = 0; i < PREFILL; i += 10_000)
    many(Array.from({ length: Math.min(10_000, PREFILL - i) }, (_, j) => eventRow(event(i + j), now)));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  console.error(`prefilled ${PREFILL} events: ${(statSync(path).size / 1e6).toFixed(0)} MB`);
  return (template = path);
}

async function freshStore(kind: Kind): Promise<FreshStore> {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeloop-bench-'));
  if (kind === 'sqlite') {
    if (PREFILL) copyFileSync(await prefilled(), join(dataDir, 'edgeloop.db'));
    return {
      options: { sqlite: { path: join(dataDir, 'edgeloop.db') } },
      dataDir,
      drop: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  return {
    options: { postgres: { url: PG_URL, schema } },
    dataDir,
    drop: async () => {
      await dropSchema(PG_URL, schema);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Writes `data` straight through the driver, one transaction per batch; returns events/s. */
async function raw(kind: Kind, data: Event[][]): Promise<number> {
  const store = await freshStore(kind);
  const storage = openStorage(store.options);
  await storage.migrate(); // the collector's own tables and indexes
  try {
    const now = Date.now();
    if (kind === 'sqlite') {
      const db = sqliteConnection(storage)!;
      const rows = data.map((b) => b.map((e) => eventRow(e, now)));
      const insert =
        db.prepare(`INSERT INTO events (id, model, version, device_id, type, ts, received_at, input_hash, prediction_id, label, confidence, reason, body)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`);
      const tx = db.transaction((batch: unknown[][]) => {
        for (const r of batch) insert.run(...r);
      });
      const t0 = performance.now();
      for (const batch of rows) tx.immediate(batch);
      return (data.length * BATCH) / ((performance.now() - t0) / 1000);
    }
    const schema = (store.options as { postgres: { schema: string } }).postgres.schema;
    const NAMES = [
      'id',
      'model',
      'version',
      'device_id',
      'type',
      'ts',
      'received_at',
      'input_hash',
      'prediction_id',
      'label',
      'confidence',
      'reason',
      'body',
    ];
    const params = data.map((b) => [
      JSON.stringify(b.map((e) => Object.fromEntries(eventRow(e, now).map((v, i) => [NAMES[i], v])))),
    ]);
    const pool = new pg.Pool({ connectionString: PG_URL, max: CLIENTS, options: `-c search_path=${schema}` });
    await Promise.all(Array.from({ length: CLIENTS }, () => pool.query('SELECT 1')));
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < params.length) await pool.query(INSERT_EVENTS, params[next++]!);
      }),
    );
    const rate = (data.length * BATCH) / ((performance.now() - t0) / 1000);
    await pool.end();
    return rate;
  } finally {
    await storage.close();
    await store.drop();
  }
}

// ---------------------------------------------------------------- HTTP

async function startCollector(store: FreshStore): Promise<{ child: ChildProcess; url: URL }> {
  const execArgv = process.env.INGEST_PROFILE
    ? [...process.execArgv, '--cpu-prof', `--cpu-prof-dir=${process.env.INGEST_PROFILE}`]
    : process.execArgv;
  const child = fork(fileURLToPath(import.meta.url), ['serve', JSON.stringify(store.options), store.dataDir], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`collector exited with ${code}`)));
  });
  return { child, url: new URL(url) };
}

/**
 * Sends `data` with CLIENTS concurrent keep-alive connections, one request in flight on each (autocannon: a
 * load generator cheap enough to leave this 2-core machine's CPU to the collector; node:http's client spent
 * 16 µs of CPU per event here, a third of what the collector itself spends). Every request must be acked 200.
 */
async function overHttp(
  url: URL,
  data: Event[][],
  connections = CLIENTS,
): Promise<{ rate: number; p50: number; p99: number; clientCpuUsPerEvent: number; seconds: number }> {
  const bodies = data.map((b) => JSON.stringify({ events: b }));
  let next = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  // autocannon ends a run on its 1 s tick after the last response: the run's time is taken at the last response.
  let answered = 0;
  let last = 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const options: autocannon.Options = {
      url: url.origin,
      connections,
      pipelining: 1,
      amount: bodies.length,
      timeout: 60,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      requests: [
        {
          method: 'POST',
          path: '/v1/events',
          setupRequest: (req) => {
            const body = bodies[next++];
            if (body === undefined) throw new Error('more requests than batches');
            return { ...req, body };
          },
        },
      ],
    };
    const instance = autocannon(options, (err, res) => (err ? reject(err) : resolve(res)));
    instance.on('response', () => {
      if (++answered === bodies.length) last = performance.now();
    });
  });
  const seconds = ((last || performance.now()) - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  if (process.env.INGEST_DEBUG)
    console.error(
      `autocannon: ${seconds.toFixed(2)} s by our clock, ${result.duration} s by its own, ${result.requests.total} requests`,
    );
  if (result['2xx'] !== bodies.length || result.non2xx || result.errors || result.timeouts) {
    throw new Error(
      `ingest: ${result['2xx']} of ${bodies.length} requests answered 2xx (${result.non2xx} other statuses, ${result.errors} errors, ${result.timeouts} timeouts)`,
    );
  }
  return {
    rate: (data.length * BATCH) / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    clientCpuUsPerEvent: (cpu.user + cpu.system) / (data.length * BATCH),
    seconds,
  };
}

/**
 * Sends `data` through `n` collector processes on one PostgreSQL database at once, the clients and batches split
 * evenly between them; events/s over the slowest one's time.
 */
async function httpScaled(n: number, data: Event[][], warmup: Event[][]): Promise<number> {
  const store = await freshStore('postgres');
  const collectors: { child: ChildProcess; url: URL }[] = [];
  try {
    // One after the other: the first migrates the schema, the next find it done.
    for (let i = 0; i < n; i++) collectors.push(await startCollector(store));
    const share = <T>(xs: T[], i: number) => xs.filter((_, j) => j % n === i);
    await Promise.all(collectors.map((c, i) => overHttp(c.url, share(warmup, i), Math.max(1, CLIENTS / n))));
    const runs = await Promise.all(collectors.map((c, i) => overHttp(c.url, share(data, i), Math.max(1, CLIENTS / n))));
    return (data.length * BATCH) / Math.max(...runs.map((r) => r.seconds));
  } finally {
    for (const c of collectors) {
      c.child.kill('SIGTERM');
      await new Promise((r) => c.child.once('exit', r));
    }
    await store.drop();
  }
}

/** CPU microseconds the collector process has used so far. */
function cpuOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (m) => {
      const { user, system } = (m as { cpu: NodeJS.CpuUsage }).cpu;
      resolve(user + system);
    });
    child.send('cpu');
  });
}

async function http(
  kind: Kind,
  data: Event[][],
  warmup: Event[][],
): Promise<{ rate: number; p50: number; p99: number; clientCpuUsPerEvent: number; cpuSecondsPer1k: number }> {
  const store = await freshStore(kind);
  const { child, url } = await startCollector(store);
  try {
    await overHttp(url, warmup);
    const cpu0 = await cpuOf(child);
    const result = await overHttp(url, data);
    const cpu = (await cpuOf(child)) - cpu0;
    return { ...result, cpuSecondsPer1k: cpu / 1e6 / ((data.length * BATCH) / 1000) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await store.drop();
  }
}

// ---------------------------------------------------------------- run

const median = (xs: number[]) => percentile(xs, 50);

/** Milliseconds a fixed loop of float arithmetic takes: how fast this (shared, virtual) machine runs right now. */
function hostProbe(): number {
  const t0 = performance.now();
  let x = 0;
  for (let i = 0; i < 1e8; i++) x += i * 1.0000001;
  if (x < 0) console.log(x);
  return Math.round(performance.now() - t0);
}

/** Median milliseconds of a 64 KiB write + fdatasync in the temp dir: what a commit's fsync costs right now. */
function diskProbe(): number {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-bench-disk-'));
  const fd = openSync(join(dir, 'probe'), 'w');
  const buf = Buffer.alloc(65_536, 1);
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    writeSync(fd, buf, 0, buf.length, 0);
    fdatasyncSync(fd);
    times.push(performance.now() - t0);
  }
  closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
  return Number(median(times).toFixed(2));
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const probes = [hostProbe()];
  const disk = [diskProbe()];
  for (const kind of STORES) {
    const raws: number[] = [];
    const https: number[] = [];
    const p50s: number[] = [];
    const p99s: number[] = [];
    const clientCpu: number[] = [];
    const cpuPer1k: number[] = [];
    const scaled: number[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      // Fresh ids every time: a resent id would be a cheap duplicate, not a write.
      raws.push(await raw(kind, batches(EVENTS)));
      const h = await http(kind, batches(EVENTS), batches(WARMUP));
      https.push(h.rate);
      p50s.push(h.p50);
      p99s.push(h.p99);
      clientCpu.push(h.clientCpuUsPerEvent);
      cpuPer1k.push(h.cpuSecondsPer1k);
      if (kind === 'postgres' && COLLECTORS > 1)
        scaled.push(await httpScaled(COLLECTORS, batches(EVENTS), batches(WARMUP)));
      console.error(
        `${kind} rep ${rep + 1}/${REPS}: raw ${Math.round(raws.at(-1)!)} ev/s, http ${Math.round(h.rate)} ev/s${scaled.length > rep ? `, ${COLLECTORS} collectors ${Math.round(scaled[rep]!)} ev/s` : ''}`,
      );
    }
    const rawRate = median(raws);
    const httpRate = median(https);
    const held = PREFILL ? `, store already holding ${PREFILL.toLocaleString('en')} events` : '';
    rows.push({
      store: kind,
      path: `raw driver, 1 tx per 100 rows${held}`,
      'events/s': Math.round(rawRate),
      ratio: 1,
      'p50 ms': null,
      'p99 ms': null,
      'collector CPU ms / 1k events': null,
      'load generator CPU µs / event': null,
    });
    rows.push({
      store: kind,
      path: `HTTP POST /v1/events, ${CLIENTS} clients${held}`,
      'events/s': Math.round(httpRate),
      ratio: Number((httpRate / rawRate).toFixed(2)),
      // Request latency: the median over the rounds of each round's p50 and p99.
      'p50 ms': Number(median(p50s).toFixed(1)),
      'p99 ms': Number(median(p99s).toFixed(1)),
      // What the collector process itself spends (steady under other load; fsync waits are not CPU).
      'collector CPU ms / 1k events': Number((median(cpuPer1k) * 1000).toFixed(1)),
      'load generator CPU µs / event': Number(median(clientCpu).toFixed(1)),
    });
    if (scaled.length) {
      rows.push({
        store: kind,
        path: `HTTP POST /v1/events through ${COLLECTORS} collectors on one database, ${CLIENTS} clients split between them`,
        'events/s': Math.round(median(scaled)),
        // Here the ratio is to one collector's HTTP rate in the same run: the scale-out.
        ratio: Number((median(scaled) / httpRate).toFixed(2)),
        'p50 ms': null,
        'p99 ms': null,
        'collector CPU ms / 1k events': null,
        'load generator CPU µs / event': null,
      });
    }
  }
  if (template) rmSync(dirname(template), { recursive: true, force: true });
  probes.push(hostProbe());
  disk.push(diskProbe());
  // Three times this loop took 3.3 s and then 4.5 s a minute apart on 2026-12-01, with no other job running.
  console.log(`host probe (a fixed loop, ms; lower is a faster machine): ${probes.join(' at the start, ')} at the end`);
  console.log(`disk probe (64 KiB write + fdatasync, median ms): ${disk.join(' at the start, ')} at the end`);
  // Other work on a small shared machine moves both figures; the ratio is taken within one run for that reason.
  const load = loadavg().map((x) => Number(x.toFixed(2)));
  console.log(`load average at the end: ${load.join(' ')} on ${cpus().length} CPUs`);
  report(PREFILL ? 'ingest-prefilled' : 'ingest', rows, {
    hostProbeMs: probes,
    diskProbeMs: disk,
    prefill: PREFILL,
    batch: BATCH,
    clients: CLIENTS,
    collectors: COLLECTORS,
    eventsPerRun: EVENTS,
    reps: REPS,
    eventBytes: JSON.stringify(event(0)).length,
    loadAverage: load,
  });
}

// ---------------------------------------------------------------- entry: the bench, or the collector process it forks

if (process.argv[2] === 'serve') {
  const options = JSON.parse(process.argv[3]!) as StorageOptions;
  const running = await startServer({
    port: 0,
    storage: options,
    dataDir: process.argv[4]!,
    seedKeys: { ingest: KEY },
    logger: false,
    rateLimit: false,
    controller: false,
  });
  process.send!({ url: running.url });
  process.on('message', (m) => m === 'cpu' && process.send!({ cpu: process.cpuUsage() }));
  process.on('SIGTERM', () => void running.close().then(() => process.exit(0)));
} else {
  await main();
}
