/**
 * Batch freeze time with 1,000,000 stored events, on SQLite and PostgreSQL. Target: ≤ 10 s on each store.
 * Baseline, measured in the same run on the same rows: a plain full scan (`count(*)` and `sum(length(body))`
 * over `events`), so the ratio says how many full scans a freeze costs.
 *
 * Mix (of N events, bench/fill.ts): 60 % predictions (70 % sample, 20 % low-confidence, 10 % reported; every one
 * with an 8×8 uint8 input), 20 % corrections over 13 % of the predictions (2.5 per labeled input, 80 % right, from
 * 20,000 devices), 15 % stats, 5 % errors. Loaded in bulk (SQLite: large transactions with sync off;
 * PostgreSQL: COPY), then frozen through the HTTP route. Then 1,000 new labels and a second, incremental freeze.
 *
 * Machines here are shared, so besides wall-clock seconds the bench reports CPU seconds: this process's own
 * (`process.cpuUsage`) plus, on PostgreSQL, those of the server backends serving it (read from /proc, found by
 * application_name). CPU time is what the work costs whatever else the machine is doing.
 *
 * Usage: npm run bench -- freeze   (FREEZE_EVENTS=200000 for a quicker run; DATABASE_URL for PostgreSQL)
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { newId, type Event } from '@edgeloop/protocol';
import { buildApp, openStorage, type App, type StorageOptions } from '@edgeloop/collector';
import { loadPostgres, loadSqlite } from './fill.js';
import { report, type Row } from './report.js';
import { dropSchema } from './pg.js';

const N = Number(process.env.FREEZE_EVENTS ?? 1_000_000);
const PG_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MODEL = 'digits';
const ADMIN = 'bench-admin-key-0123456789abcdef';
const TARGET_S = 10;
const APP_NAME = 'edgeloop-freeze-bench';
// Every PostgreSQL connection this process opens (the app's pool included) carries this name.
process.env.PGAPPNAME = APP_NAME;
const TICKS_PER_S = 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU time in these

async function seconds<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = process.hrtime.bigint();
  const value = await fn();
  return [Number(process.hrtime.bigint() - t) / 1e9, value];
}

/** A full scan of `events` through the store's own driver, on one connection kept open (the baseline). */
async function scanner(options: StorageOptions): Promise<{ run: () => Promise<void>; close: () => Promise<void> }> {
  const sql = 'SELECT count(*) AS n, sum(length(body)) AS bytes FROM events';
  if ('sqlite' in options) {
    const db = new Database(options.sqlite.path, { readonly: true });
    const st = db.prepare(sql);
    return { run: async () => void st.get(), close: async () => void db.close() };
  }
  const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${options.postgres.schema}` });
  await client.connect();
  return { run: async () => void (await client.query(sql)), close: () => client.end() };
}

/**
 * CPU seconds so far of this process and of the PostgreSQL backends serving it (by application_name, and their
 * parallel workers by leader_pid). Backends are sampled every 20 ms while a measurement runs, since a parallel
 * worker lives only as long as its query.
 */
async function cpuMeter(
  kind: 'sqlite' | 'postgres',
): Promise<{ read: () => Promise<number>; watch: () => () => Promise<void>; close: () => Promise<void> }> {
  const own = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  if (kind === 'sqlite') return { read: async () => own(), watch: () => async () => {}, close: async () => {} };
  const observer = new pg.Client({ connectionString: PG_URL, application_name: 'edgeloop-freeze-observer' });
  await observer.connect();
  const seen = new Map<number, number>();
  const sample = async () => {
    const { rows } = await observer.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
       WHERE application_name = $1 OR leader_pid IN (SELECT pid FROM pg_stat_activity WHERE application_name = $1)`,
      [APP_NAME],
    );
    for (const { pid } of rows) {
      try {
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        seen.set(pid, Math.max(seen.get(pid) ?? 0, (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S));
      } catch {
        // The process ended between the query and the read: its last sample stands.
      }
    }
  };
  const total = () => {
    let backends = 0;
    for (const v of seen.values()) backends += v;
    return own() + backends;
  };
  return {
    read: async () => (await sample(), total()),
    watch() {
      let running = true;
      const loop = (async () => {
        while (running) {
          await sample();
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      return async () => {
        running = false;
        await loop;
      };
    },
    close: () => observer.end(),
  };
}

async function measured<T>(
  meter: { read: () => Promise<number>; watch: () => () => Promise<void> },
  fn: () => Promise<T>,
): Promise<[wallS: number, cpuS: number, value: T]> {
  const cpu0 = await meter.read();
  const stop = meter.watch();
  const [wall, value] = await seconds(fn);
  await stop();
  return [wall, (await meter.read()) - cpu0, value];
}

async function newLabels(app: App, count: number): Promise<void> {
  const events: Event[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = randomBytes(64);
    const p: Event = {
      id: newId(),
      model: MODEL,
      version: 'v1',
      deviceId: `late-${i}`,
      ts: Date.now(),
      type: 'prediction',
      reason: 'reported',
      input: { dtype: 'uint8', shape: [8, 8], data: bytes.toString('base64') },
      inputHash: createHash('sha256').update(bytes).digest('hex'),
      output: { label: '1', confidence: 0.9, topK: [] },
      engine: 'ort-wasm',
      latencyMs: 3,
    };
    events.push(p, {
      id: newId(),
      model: MODEL,
      version: 'v1',
      deviceId: `late-${i}`,
      ts: Date.now(),
      type: 'correction',
      predictionId: p.id,
      label: '7',
    });
  }
  for (let i = 0; i < events.length; i += 500) await app.storage.events.insert(events.slice(i, i + 500), Date.now());
}

async function measure(kind: 'sqlite' | 'postgres'): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-freeze-'));
  const schema = `bench_freeze_${randomBytes(4).toString('hex')}`;
  const options: StorageOptions =
    kind === 'sqlite'
      ? { sqlite: { path: join(dir, 'edgeloop.db') } }
      : { postgres: { url: PG_URL, schema, statementTimeoutMs: 120_000 } };
  try {
    const storage = openStorage(options);
    await storage.migrate();
    await storage.close();
    const [loadS, events] = await seconds(() =>
      kind === 'sqlite'
        ? loadSqlite(join(dir, 'edgeloop.db'), N, { model: MODEL })
        : loadPostgres(PG_URL, schema, N, { model: MODEL }),
    );
    console.log(`${kind}: loaded ${events} events in ${loadS.toFixed(1)} s`);

    const meter = await cpuMeter(kind);
    const scan = await scanner(options);
    await scan.run(); // warm the cache for the baseline and the freeze alike
    const [scanS, scanCpuS] = await measured(meter, scan.run);
    await scan.close();

    const app = await buildApp({
      storage: options,
      dataDir: dir,
      seedKeys: { admin: ADMIN },
      controller: false,
      rateLimit: false,
    });
    try {
      const post = () =>
        app.inject({
          method: 'POST',
          url: `/v1/models/${MODEL}/batches`,
          headers: { authorization: `Bearer ${ADMIN}` },
        });
      await app.storage.ping(); // open the pool before measuring
      const [freezeS, freezeCpuS, r] = await measured(meter, post);
      if (r.statusCode !== 201) throw new Error(`freeze answered ${r.statusCode}: ${r.body}`);
      const batch = r.json();
      console.log(
        `${kind}: froze ${batch.counts.examples} examples in ${freezeS.toFixed(2)} s (${freezeCpuS.toFixed(2)} CPU s)`,
        batch.counts.tiesSentToReview,
        'ties',
      );

      const [exportS, ex] = await seconds(() =>
        app.inject({
          method: 'GET',
          url: `/v1/batches/${batch.id}/examples`,
          headers: { authorization: `Bearer ${ADMIN}` },
        }),
      );
      if (createHash('sha256').update(ex.body).digest('hex') !== batch.sha256)
        throw new Error('export does not match the batch sha256');

      await newLabels(app, 1000);
      const [incrementalS, incrementalCpuS, r2] = await measured(meter, post);
      if (r2.statusCode !== 201 || r2.json().counts.examples !== 1000)
        throw new Error(`incremental freeze: ${r2.statusCode} ${r2.body.slice(0, 200)}`);
      await meter.close();

      return {
        store: kind,
        events,
        labeledInputs: batch.counts.examples + batch.counts.tiesSentToReview,
        examples: batch.counts.examples,
        scanS: +scanS.toFixed(3),
        scanCpuS: +scanCpuS.toFixed(3),
        freezeS: +freezeS.toFixed(2),
        freezeCpuS: +freezeCpuS.toFixed(2),
        freezePerScanCpu: +(freezeCpuS / scanCpuS).toFixed(1),
        exportS: +exportS.toFixed(2),
        incrementalFreezeS: +incrementalS.toFixed(2),
        incrementalFreezeCpuS: +incrementalCpuS.toFixed(2),
        loadAvg: +loadavg()[0]!.toFixed(1),
        targetS: TARGET_S,
        pass: freezeS <= TARGET_S,
      };
    } finally {
      await app.close();
    }
  } finally {
    if (kind === 'postgres') {
      await dropSchema(PG_URL, schema);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
// FREEZE_STORES=sqlite (or postgres) measures one store only.
const STORES = (process.env.FREEZE_STORES ?? 'sqlite,postgres').split(',') as ('sqlite' | 'postgres')[];
for (const kind of STORES) rows.push(await measure(kind));
report('freeze', rows, { events: N, mix: '60% predictions, 20% corrections, 15% stats, 5% errors' });
if (rows.some((r) => !r.pass)) process.exitCode = 1;
