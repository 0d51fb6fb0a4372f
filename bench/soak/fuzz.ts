/**
 * The fuzz slice of the soak: the requests of `npm run fuzz` (packages/collector/test/fuzz.test.ts), drawn by the
 * same generator (`caseArb`, `build`, `realise`, `KnownValues`) for every route of the collector's route table, but
 * sent over HTTP to one of the soak's collectors while it is under the soak's load and faults. What is checked on
 * each answer is what holds without reading the store: no 5xx (outside the fault windows), and every error carries
 * a catalogue code with that code's status.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { buildApp, errors as catalogue, type RouteEntry } from '@edgeloop/collector';
import { KEYS } from '../../packages/collector/test/helpers/stores.js';
import { realise } from '../../packages/collector/test/helpers/fuzz/hostile.js';
import { KnownValues } from '../../packages/collector/test/helpers/fuzz/known.js';
import { build, caseArb, type Case } from '../../packages/collector/test/helpers/fuzz/requests.js';

type ErrorBody = { code?: unknown; statusCode?: unknown };
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** What Node's HTTP server (through Fastify's default `clientError` handler) answers a request it cannot parse. */

export interface FuzzTally {
  sent: number;
  /** requests node's HTTP client refuses to put on the wire (a raw path with a space, say): not counted as sent */
  unsendable: number;
  /** connection errors, by code, and the first requests of each code */
  errors: Record<string, number>;
  errorExamples: string[];
  /**
   * HEAD requests Node's HTTP parser refuses before any route (a request line or header no HTTP/1.1 server takes):
   * the collector's answer (400/431 with a catalogue code, like every other refusal) carries a body, which a client
   * that sent HEAD cannot parse. The in-process fuzz (inject) never sees these.
   */
  parserRejects: { count: number; examples: string[] };
  byStatus: Record<string, number>;
  /** 5xx: ms since t0, status, request */
  fiveXx: { at: number; status: number; what: string }[];
  /** an error answer without a catalogue code of its status */
  badCodes: string[];
}

/** The route table of a collector (built in memory on a throwaway SQLite store, then closed). */
export async function routeTable(): Promise<RouteEntry[]> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-soak-routes-'));
  const app = await buildApp({ dataDir: dir, seedKeys: KEYS, controller: false, rateLimit: false });
  await app.ready();
  const routes = [...app.routeTable];
  await app.close();
  rmSync(dir, { recursive: true, force: true });
  return routes;
}

function statusOf(code: unknown): number | undefined {
  const E = typeof code === 'string' ? catalogue[code] : undefined;
  return E ? new E('x', 'y', 'z').statusCode : undefined;
}

/**
 * Draws `total` cases over `routes`, weighted as the fuzz test weighs them, in a seeded shuffled order; 25 at a
 * time, yielding between, so that drawing (seconds of CPU for 10,000 cases) never stalls the soak's proxy and devices.
 */
async function drawCases(routes: RouteEntry[], total: number, seed: number): Promise<{ route: RouteEntry; c: Case }[]> {
  const weight = (r: RouteEntry) => (!READS.has(r.method) ? 3 : r.endpoint?.querystring ? 2 : 1);
  const unit = total / routes.reduce((n, r) => n + weight(r), 0);
  const all: { route: RouteEntry; c: Case }[] = [];
  for (const [i, route] of routes.entries()) {
    const n = Math.max(5, Math.ceil(unit * weight(route)));
    for (let k = 0; k < n; k += 25) {
      for (const c of fc.sample(caseArb(route), { numRuns: Math.min(25, n - k), seed: seed + i * 1009 + k }))
        all.push({ route, c });
      await new Promise((r) => setImmediate(r));
    }
  }
  const order = fc.sample(fc.integer(), { numRuns: all.length, seed });
  return all
    .map((x, i) => ({ x, k: order[i]! }))
    .sort((a, b) => a.k - b.k)
    .map(({ x }) => x);
}

function send(
  base: string,
  req: { method: string; url: string; headers: Record<string, string>; payload?: string | Buffer },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const r = http.request(
      // A connection per request: a request the server refuses at the parser closes its connection.
      { host: u.hostname, port: u.port, path: req.url, method: req.method, headers: req.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.setTimeout(60_000, () => r.destroy(new Error('timeout')));
    r.end(req.payload);
  });
}

/**
 * Sends at least `minCases` fuzzed requests to `target`, `concurrency` at a time, and keeps drawing new rounds
 * until `stop()` says so; resolves with the tally.
 */
export async function fuzz(o: {
  target: string;
  routes: RouteEntry[];
  minCases: number;
  seed: number;
  concurrency: number;
  t0: number;
  stop: () => boolean;
  tally: FuzzTally;
}): Promise<FuzzTally> {
  const known = new KnownValues();
  for (const [pool, values] of Object.entries({ model: ['soak-fuzz', 'fuzz-new'], device: ['fuzz-device'] }))
    for (const v of values) known.add(pool, v);
  const t = o.tally;
  let round = 0;
  while (t.sent < o.minCases || !o.stop()) {
    const cases = await drawCases(o.routes, o.minCases, o.seed + round++ * 7919);
    let next = 0;
    const worker = async () => {
      while (next < cases.length && (t.sent < o.minCases || !o.stop())) {
        const { route, c } = cases[next++]!;
        const req = await build(route, c, (d) => realise(d, (k) => known.pick(k, route.url)));
        let res: { status: number; body: string };
        try {
          res = await send(o.target, req);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ERR_UNESCAPED_CHARACTERS' || code === 'ERR_INVALID_CHAR' || code === 'ERR_INVALID_ARG_VALUE')
            t.unsendable++;
          // Node's parser-level 400 carries a body even to a HEAD, which the client cannot parse: the same refusal.
          else if (req.method === 'HEAD' && code?.startsWith('HPE_')) {
            t.sent++;
            t.parserRejects.count++;
          } else {
            const k = code ?? 'unknown';
            if ((t.errors[k] = (t.errors[k] ?? 0) + 1) <= 3)
              t.errorExamples.push(
                `${k}: ${req.method} ${req.url.slice(0, 120)} ${JSON.stringify(req.headers).slice(0, 200)}`,
              );
          }
          continue;
        }
        t.sent++;
        t.byStatus[res.status] = (t.byStatus[res.status] ?? 0) + 1;
        const what = `${req.method} ${req.url.slice(0, 120)} → ${res.status} ${res.body.slice(0, 160)}`;
        let body: ErrorBody | null;
        try {
          body = res.body ? (JSON.parse(res.body) as ErrorBody) : null;
        } catch {
          body = null;
        }
        // Without a built admin page, /admin answers 503 EL_ADMIN_NOT_BUILT by design (as in the fuzz test).
        const unbuilt =
          res.status === 503 &&
          route.url.startsWith('/admin') &&
          (req.method === 'HEAD' || body?.code === 'EL_ADMIN_NOT_BUILT');
        if (res.status >= 500 && !unbuilt) t.fiveXx.push({ at: Date.now() - o.t0, status: res.status, what });
        if (res.status >= 400 && req.method !== 'HEAD' && !unbuilt) {
          if (statusOf(body?.code) !== res.status || body?.statusCode !== res.status) t.badCodes.push(what);
        }
        if (res.status < 300 && !READS.has(req.method) && body && typeof body === 'object')
          known.learn(route, req, body);
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
  }
  return t;
}

export const emptyTally = (): FuzzTally => ({
  sent: 0,
  unsendable: 0,
  errors: {},
  errorExamples: [],
  parserRejects: { count: 0, examples: [] },
  byStatus: {},
  fiveXx: [],
  badCodes: [],
});
