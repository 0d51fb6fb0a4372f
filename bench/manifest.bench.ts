/**
 * Manifest requests per second, the hot path of every device. Target: ≥ 10,000 req/s on one core, p99 ≤ 5 ms.
 * Baseline, measured in the same run: a bare Fastify route (no plugins, no auth) returning the same manifest
 * JSON, so the ratio says what the collector's stack (auth, rate limit, CORS, metrics, bucketing) costs.
 *
 * Each server runs in its own process pinned to one core (`taskset -c 0` where available); autocannon runs here,
 * pinned to the other. Requests rotate over 1,000 device ids with a 10 % canary live, so both manifests are
 * served. Rows: the bare route; the collector answering 200; and answering 304 to an `If-None-Match` that
 * matches (what a polling device gets almost always), on SQLite and on PostgreSQL (artifacts and rollout in the
 * database; a store never sits on this path, but the key cache and leader checks do differ).
 *
 * Usage: npm run bench -- manifest   (MANIFEST_ROUNDS=3 rounds of MANIFEST_SECONDS=5 per row, interleaved, median
 * reported; MANIFEST_CONNECTIONS=16; DATABASE_URL)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import pg from 'pg';
import { buildApp, type App, type StorageOptions } from '@edgeloop/collector';
import { report, type Row } from './report.js';

const SECONDS = Number(process.env.MANIFEST_SECONDS ?? 5);
const ROUNDS = Number(process.env.MANIFEST_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.MANIFEST_CONNECTIONS ?? 16);
const PG_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const KEYS = { admin: 'bench-admin-key-0123456789abcdef', trainer: 'bench-trainer-key-0123456789abcdef', ingest: 'bench-ingest-key-0123456789abcdef' };
const DEVICES = 1000;
const TARGET_RPS = 10_000;
const TARGET_P99_MS = 5;

interface Ready {
  port: number;
  /** One device's manifest and ETag (for the bare route's body and the 304 rows). */
  manifest: string;
  device: string;
  etag: string;
}

// ---- server side (a child process) ----

async function publish(app: App, version: string, parent: string | null): Promise<void> {
  const form = new FormData();
  const meta = {
    version,
    parent,
    batches: [],
    metrics: { accuracy: 0.97 },
    labels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    input: { shape: [28, 28, 1], dtype: 'float32', normalize: { scale: 1, offset: 0 } },
    trainer: { epochs: 3 },
    codeVersion: 'bench',
  };
  form.append('meta', JSON.stringify(meta));
  form.append('onnx', new Blob([randomBytes(100_000)]), 'model.onnx');
  form.append('tfjs-layers', new Blob([JSON.stringify({ format: 'layers-model', version })]), 'model.json');
  form.append('tfjs-layers', new Blob([randomBytes(100_000)]), 'group1-shard1of1.bin');
  const body = new Response(form);
  const r = await app.inject({
    method: 'POST',
    url: '/v1/models/digits/versions',
    headers: { 'content-type': body.headers.get('content-type')!, authorization: `Bearer ${KEYS.trainer}` },
    payload: Buffer.from(await body.arrayBuffer()),
  });
  if (r.statusCode !== 201) throw new Error(`publish ${version}: ${r.statusCode} ${r.body}`);
}

async function serveCollector(kind: 'sqlite' | 'postgres'): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeloop-bench-manifest-'));
  const schema = `bench_manifest_${randomBytes(4).toString('hex')}`;
  const storage: StorageOptions = kind === 'sqlite' ? { sqlite: { path: join(dataDir, 'edgeloop.db') } } : { postgres: { url: PG_URL, schema } };
  // A budget no benchmark reaches: the limiter's per-request cost is measured, its refusals are not.
  const app = await buildApp({ storage, dataDir, seedKeys: KEYS, controller: false, logger: false, rateLimit: { max: 1e9, timeWindowMs: 60_000 } });
  await publish(app, 'v1', null);
  await publish(app, 'v2', 'v1');
  const put = await app.inject({
    method: 'PUT',
    url: '/v1/models/digits/rollout',
    headers: { authorization: `Bearer ${KEYS.admin}` },
    payload: { stable: 'v1', canary: 'v2', canaryPercent: 10 },
  });
  if (put.statusCode !== 200) throw new Error(`rollout: ${put.body}`);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const device = 'device-0';
  const m = await app.inject({ method: 'GET', url: `/v1/models/digits/manifest?device=${device}`, headers: { authorization: `Bearer ${KEYS.ingest}` } });
  const ready: Ready = { port: (app.server.address() as { port: number }).port, manifest: m.body, device, etag: String(m.headers.etag) };
  console.log(JSON.stringify(ready));
  const stop = async () => {
    await app.close();
    if (kind === 'postgres') {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
}

async function serveBare(manifest: string): Promise<void> {
  const body = JSON.parse(manifest) as unknown;
  const app = Fastify({ logger: false });
  app.get('/v1/models/:model/manifest', async () => body);
  await app.listen({ port: 0, host: '127.0.0.1' });
  console.log(JSON.stringify({ port: (app.server.address() as { port: number }).port, manifest, device: '', etag: '' } satisfies Ready));
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

// ---- load side (this process) ----

const canPin = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

async function startServer(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; ready: Ready }> {
  const node = [process.execPath, '--conditions=source', '--import', 'tsx', new URL(import.meta.url).pathname, 'serve', ...args];
  const [cmd, ...rest] = canPin ? ['taskset', '-c', '0', ...node] : node;
  const child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env, NODE_ENV: 'production' } });
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before it was ready`)));
    lines.once('line', (line) => resolve(JSON.parse(line) as Ready));
  });
  return { child, ready };
}

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function load(port: number, headers: Record<string, string>, seconds: number): Promise<autocannon.Result> {
  let i = 0;
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: seconds,
    headers,
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => ({ ...req, path: `/v1/models/digits/manifest?device=device-${i++ % DEVICES}` }),
      },
    ],
  });
}

interface Target {
  name: string;
  port: number;
  headers: Record<string, string>;
  /** Poll as this one device (the 304 rows); otherwise rotate over DEVICES. */
  device?: string;
}

async function run(t: Target, seconds: number): Promise<autocannon.Result> {
  if (!t.device) return load(t.port, t.headers, seconds);
  return autocannon({ url: `http://127.0.0.1:${t.port}/v1/models/digits/manifest?device=${t.device}`, connections: CONNECTIONS, duration: seconds, headers: t.headers });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  if (canPin) spawnSync('taskset', ['-p', '-c', '1', String(process.pid)]);
  const auth = { authorization: `Bearer ${KEYS.ingest}` };
  const sqlite = await startServer(['collector', 'sqlite']);
  const postgres = await startServer(['collector', 'postgres']);
  const bare = await startServer(['bare'], { MANIFEST_JSON: sqlite.ready.manifest });
  const targets: Target[] = [
    { name: 'bare Fastify route (baseline)', port: bare.ready.port, headers: {} },
    { name: 'collector sqlite: 200', port: sqlite.ready.port, headers: auth },
    { name: 'collector sqlite: 304', port: sqlite.ready.port, headers: { ...auth, 'if-none-match': sqlite.ready.etag }, device: sqlite.ready.device },
    { name: 'collector postgres: 200', port: postgres.ready.port, headers: auth },
    { name: 'collector postgres: 304', port: postgres.ready.port, headers: { ...auth, 'if-none-match': postgres.ready.etag }, device: postgres.ready.device },
  ];
  const results = new Map<string, autocannon.Result[]>();
  try {
    for (const t of targets) await run(t, 2); // warm-up: JIT, caches, connections
    // Rounds interleave the targets, so a burst of load from elsewhere on the machine hits them all alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of targets) {
        const r = await run(t, SECONDS);
        results.set(t.name, [...(results.get(t.name) ?? []), r]);
        console.error(`round ${round + 1}: ${t.name}: ${Math.round(r.requests.average)} req/s, p99 ${r.latency.p99} ms`);
      }
    }
  } finally {
    await Promise.all([sqlite, postgres, bare].map((s) => stopServer(s.child)));
  }
  const rps = (name: string) => median(results.get(name)!.map((r) => r.requests.average));
  const bareRps = rps(targets[0]!.name);
  const rows: Row[] = targets.map((t) => {
    const rs = results.get(t.name)!;
    const wrong = rs.reduce((n, r) => n + r.errors + r.timeouts + r.non2xx - (r.statusCodeStats?.['304']?.count ?? 0), 0);
    const row: Row = {
      target: t.name,
      'req/s (median)': Math.round(rps(t.name)),
      'p50 ms': median(rs.map((r) => r.latency.p50)),
      'p99 ms': median(rs.map((r) => r.latency.p99)),
      requests: rs.reduce((n, r) => n + r.requests.total, 0),
      'not 200/304': wrong,
      ratio: Math.round((rps(t.name) / bareRps) * 100) / 100,
    };
    if (t.name.startsWith('collector')) row.target_met = (row['req/s (median)'] as number) >= TARGET_RPS && (row['p99 ms'] as number) <= TARGET_P99_MS;
    return row;
  });
  report('manifest', rows, { seconds: SECONDS, rounds: ROUNDS, connections: CONNECTIONS, devices: DEVICES, pinned: canPin, target: { rps: TARGET_RPS, p99Ms: TARGET_P99_MS } });
}

if (process.argv[2] === 'serve') {
  const [what, kind] = process.argv.slice(3);
  if (what === 'bare') await serveBare(process.env.MANIFEST_JSON ?? '{}');
  else await serveCollector(kind === 'postgres' ? 'postgres' : 'sqlite');
} else {
  await main();
}
