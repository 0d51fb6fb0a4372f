/**
 * Manifest requests per second, the hot path of every device. Target: ≥ 10,000 req/s on one core, p99 ≤ 5 ms.
 * Baseline, measured in the same run: a bare Fastify route (no plugins, no auth) returning the same manifest
 * JSON, so the ratio says what the collector's stack (auth, rate limit, CORS, metrics, bucketing) costs.
 *
 * Each server runs in its own process pinned to one core (`taskset -c 0` where available); autocannon runs here,
 * pinned to the other. Requests rotate over 1,000 device ids with a 10 % canary live, so both manifests are
 * served. Rows: the bare route; the collector answering 200; and answering 304 to an `If-None-Match` that
 * matches (what a polling device gets almost always), on SQLite and on PostgreSQL; and both on SQLite at a fixed
 * offered load of 10,000 req/s, for the p99 at the target rate.
 *
 * The headline figure is requests per second of the server's own CPU time (read from the server process before
 * and after each run): what one core sustains, and far steadier than wall-clock req/s on a machine shared with
 * other work. Wall-clock req/s and p99 are reported too (median and best of the interleaved rounds).
 *
 * Usage: npm run bench -- manifest   (MANIFEST_ROUNDS=3 rounds of MANIFEST_SECONDS=5 per row, interleaved;
 * MANIFEST_CONNECTIONS=16; DATABASE_URL)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { buildApp, type App, type StorageOptions } from '@edgeloop/collector';
import { report, type Row } from './report.js';
import { dropSchema } from './pg.js';

const SECONDS = Number(process.env.MANIFEST_SECONDS ?? 5);
const ROUNDS = Number(process.env.MANIFEST_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.MANIFEST_CONNECTIONS ?? 16);
const PG_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const KEYS = {
  admin: 'bench-admin-key-0123456789abcdef',
  trainer: 'bench-trainer-key-0123456789abcdef',
  ingest: 'bench-ingest-key-0123456789abcdef',
};
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
  const storage: StorageOptions =
    kind === 'sqlite' ? { sqlite: { path: join(dataDir, 'edgeloop.db') } } : { postgres: { url: PG_URL, schema } };
  // A budget no benchmark reaches: the limiter's per-request cost is measured, its refusals are not.
  const app = await buildApp({
    storage,
    dataDir,
    seedKeys: KEYS,
    controller: false,
    logger: false,
    rateLimit: { max: 1e9, timeWindowMs: 60_000 },
  });
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
  const m = await app.inject({
    method: 'GET',
    url: `/v1/models/digits/manifest?device=${device}`,
    headers: { authorization: `Bearer ${KEYS.ingest}` },
  });
  const ready: Ready = {
    port: (app.server.address() as { port: number }).port,
    manifest: m.body,
    device,
    etag: String(m.headers.etag),
  };
  console.log(JSON.stringify(ready));
  answerCpuQueries();
  const stop = async () => {
    await app.close();
    if (kind === 'postgres') {
      await dropSchema(PG_URL, schema);
    }
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
}

/** Prints this process's CPU time (µs, user + system) for each "cpu" line on stdin. */
function answerCpuQueries(): void {
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() !== 'cpu') return;
    const u = process.cpuUsage();
    console.log(String(u.user + u.system));
  });
}

async function serveBare(manifest: string): Promise<void> {
  const body = JSON.parse(manifest) as unknown;
  const app = Fastify({ logger: false });
  app.get('/v1/models/:model/manifest', async () => body);
  await app.listen({ port: 0, host: '127.0.0.1' });
  console.log(
    JSON.stringify({
      port: (app.server.address() as { port: number }).port,
      manifest,
      device: '',
      etag: '',
    } satisfies Ready),
  );
  answerCpuQueries();
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

// ---- load side (this process) ----

const canPin = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

interface Server {
  child: ChildProcess;
  ready: Ready;
  /** The server's CPU time so far, in µs. */
  cpu(): Promise<number>;
}

async function startServer(args: string[], env: Record<string, string> = {}): Promise<Server> {
  const node = [
    process.execPath,
    '--conditions=source',
    '--import',
    'tsx',
    new URL(import.meta.url).pathname,
    'serve',
    ...args,
  ];
  const [cmd, ...rest] = canPin ? ['taskset', '-c', '0', ...node] : node;
  const child = spawn(cmd!, rest, {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ...env, NODE_ENV: 'production' },
  });
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => waiting.shift()?.(line));
  const next = () => new Promise<string>((resolve) => waiting.push(resolve));
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before it was ready`)));
    void next().then((line) => resolve(JSON.parse(line) as Ready));
  });
  return {
    child,
    ready,
    async cpu() {
      const answer = next();
      child.stdin!.write('cpu\n');
      return Number(await answer);
    },
  };
}

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function load(
  port: number,
  headers: Record<string, string>,
  seconds: number,
  rate?: number,
): Promise<autocannon.Result> {
  let i = 0;
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: seconds,
    headers,
    ...(rate ? { overallRate: rate } : {}),
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
  server: Server;
  port: number;
  headers: Record<string, string>;
  /** Poll as this one device (the 304 rows); otherwise rotate over DEVICES. */
  device?: string;
  /** Offer this many requests/s in total instead of as many as the server takes (latency at the target load). */
  rate?: number;
}

interface Run {
  result: autocannon.Result;
  /** Requests answered per second of the server's own CPU time: its capacity on one core, whatever else ran. */
  perCpuSecond: number;
}

async function run(t: Target, seconds: number): Promise<Run> {
  const before = await t.server.cpu();
  const result = t.device
    ? await autocannon({
        url: `http://127.0.0.1:${t.port}/v1/models/digits/manifest?device=${t.device}`,
        connections: CONNECTIONS,
        duration: seconds,
        headers: t.headers,
        ...(t.rate ? { overallRate: t.rate } : {}),
      })
    : await load(t.port, t.headers, seconds, t.rate);
  const cpuUs = (await t.server.cpu()) - before;
  return { result, perCpuSecond: result.requests.total / (cpuUs / 1e6) };
}

async function main(): Promise<void> {
  if (canPin) spawnSync('taskset', ['-p', '-c', '1', String(process.pid)]);
  const auth = { authorization: `Bearer ${KEYS.ingest}` };
  const sqlite = await startServer(['collector', 'sqlite']);
  const postgres = await startServer(['collector', 'postgres']);
  const bare = await startServer(['bare'], { MANIFEST_JSON: sqlite.ready.manifest });
  const targets: Target[] = [
    { name: 'bare Fastify route (baseline)', server: bare, port: bare.ready.port, headers: {} },
    { name: 'collector sqlite: 200', server: sqlite, port: sqlite.ready.port, headers: auth },
    {
      name: 'collector sqlite: 304',
      server: sqlite,
      port: sqlite.ready.port,
      headers: { ...auth, 'if-none-match': sqlite.ready.etag },
      device: sqlite.ready.device,
    },
    { name: 'collector postgres: 200', server: postgres, port: postgres.ready.port, headers: auth },
    {
      name: 'collector postgres: 304',
      server: postgres,
      port: postgres.ready.port,
      headers: { ...auth, 'if-none-match': postgres.ready.etag },
      device: postgres.ready.device,
    },
    {
      name: `collector sqlite: 200 at ${TARGET_RPS} req/s`,
      server: sqlite,
      port: sqlite.ready.port,
      headers: auth,
      rate: TARGET_RPS,
    },
    {
      name: `collector sqlite: 304 at ${TARGET_RPS} req/s`,
      server: sqlite,
      port: sqlite.ready.port,
      headers: { ...auth, 'if-none-match': sqlite.ready.etag },
      device: sqlite.ready.device,
      rate: TARGET_RPS,
    },
  ];
  const results = new Map<string, Run[]>();
  try {
    for (const t of targets) await run(t, 2); // warm-up: JIT, caches, connections
    // Rounds interleave the targets, so a burst of load from elsewhere on the machine hits them all alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of targets) {
        const r = await run(t, SECONDS);
        results.set(t.name, [...(results.get(t.name) ?? []), r]);
        console.error(
          `round ${round + 1}: ${t.name}: ${Math.round(r.result.requests.average)} req/s, ${Math.round(r.perCpuSecond)} per CPU-second, p99 ${r.result.latency.p99} ms`,
        );
      }
    }
  } finally {
    await Promise.all([sqlite, postgres, bare].map((s) => stopServer(s.child)));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const runs = (t: Target) => results.get(t.name)!;
  const perCpu = (t: Target) => median(runs(t).map((r) => r.perCpuSecond));
  const bareCpu = perCpu(targets[0]!);
  const bareRps = median(runs(targets[0]!).map((r) => r.result.requests.average));
  const rows: Row[] = targets.map((t) => {
    const rs = runs(t).map((r) => r.result);
    const best = [...rs].sort((a, b) => b.requests.average - a.requests.average)[0]!;
    const row: Row = {
      target: t.name,
      'req/CPU-s': Math.round(perCpu(t)),
      ratio: Math.round((perCpu(t) / bareCpu) * 100) / 100,
      'req/s median': Math.round(median(rs.map((r) => r.requests.average))),
      'wall ratio': Math.round((median(rs.map((r) => r.requests.average)) / bareRps) * 100) / 100,
      'req/s best': Math.round(best.requests.average),
      'p99 ms best': best.latency.p99,
      'p99 ms median': median(rs.map((r) => r.latency.p99)),
      'not 200/304': rs.reduce(
        (n, r) => n + r.errors + r.timeouts + r.non2xx - (r.statusCodeStats?.['304']?.count ?? 0),
        0,
      ),
    };
    // Capacity rows meet the target on CPU time; fixed-rate rows when they kept up and stayed under the p99.
    if (t.rate)
      row.target_met =
        (row['req/s best'] as number) >= t.rate * 0.98 && (row['p99 ms best'] as number) <= TARGET_P99_MS;
    else if (t.name.startsWith('collector')) row.target_met = (row['req/CPU-s'] as number) >= TARGET_RPS;
    return row;
  });
  report('manifest', rows, {
    seconds: SECONDS,
    rounds: ROUNDS,
    connections: CONNECTIONS,
    devices: DEVICES,
    pinned: canPin,
    target: { rps: TARGET_RPS, p99Ms: TARGET_P99_MS },
  });
}

if (process.argv[2] === 'serve') {
  const [what, kind] = process.argv.slice(3);
  if (what === 'bare') await serveBare(process.env.MANIFEST_JSON ?? '{}');
  else await serveCollector(kind === 'postgres' ? 'postgres' : 'sqlite');
} else {
  await main();
}
