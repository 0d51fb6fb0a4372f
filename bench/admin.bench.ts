/// <reference lib="dom" />
/**
 * The admin page's first paint with 1,000,000 events in the store, on SQLite and PostgreSQL. Target: ≤ 1 s per view.
 *
 * The store is filled by bench/fill.ts (the freeze bench's mix: predictions with low-confidence reasons and inputs,
 * corrections, stats windows and errors), here spread over 30 days ending now, stable v1 and, in the last 3 days, a
 * 10 % canary v2. Then, through the API: versions v1–v3, a rollout with an automatic canary policy and 200 audit
 * entries (pause/resume), a batch frozen from every label, 200 reviews, and a second, small batch.
 *
 * A real collector (port 0) serves the built admin page to headless Chromium (playwright-core), signed in with the
 * admin key through the form as the tests do. Each view is measured two ways, REPS times each (median and max):
 * - `load`: the page opened at the view (`/admin/#<view>:<model>`), from navigation start until the view's
 *   concrete DOM is there (polled every animation frame): the model list's rows, the dashboard's 8 charts with ink
 *   on their canvases, the review queue's count, the batches table, the version cards, the rollout's audit log;
 * - `click`: the same view reached by its tab from the previous one, from the click.
 * Every API call the page makes is timed on the server (Fastify's `reply.elapsedTime`): median and max per view.
 *
 * Usage: npm run bench -- admin   (ADMIN_EVENTS=200000 for a quicker run; ADMIN_STORES=sqlite or postgres for one
 * store; DATABASE_URL for PostgreSQL; ADMIN_REPS, default 7)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Page } from 'playwright-core';
import { buildApp, openStorage, type App, type StorageOptions } from '@edgeloop/collector';
import { buildAdminPage, launchChromium } from '../packages/collector/test/helpers/admin-page.js';
import { publish } from '../packages/collector/test/helpers/release.js';
import { loadPostgres, loadSqlite } from './fill.js';
import { percentile, report, type Row } from './report.js';
import { dropSchema } from './pg.js';

const N = Number(process.env.ADMIN_EVENTS ?? 1_000_000);
const REPS = Number(process.env.ADMIN_REPS ?? 7);
const PG_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MODEL = 'digits';
const ADMIN = 'bench-admin-key-0123456789abcdef';
const TRAINER = 'bench-trainer-key-0123456789abcdef';
const TARGET_MS = 1000;
const DAY = 86_400_000;
const VIEWS = ['models', 'metrics', 'review', 'batches', 'versions', 'rollout'] as const;
type ViewName = (typeof VIEWS)[number];

const median = (xs: number[]) => percentile(xs, 50);
const ms = (x: number) => Math.round(x);

/**
 * In the page, every animation frame: false until the view's concrete DOM is there, then performance.now() at that
 * frame, less the click's time for a view reached by a click. No named helper in here: the bench's compiler would
 * wrap it in a `__name` call the page does not have (and the page's CSP forbids eval, so no source strings either).
 */
function painted({ view, since }: { view: ViewName; since: 'navigation' | 'click' }): false | number {
  const c = document.querySelector('section.content');
  if (!c) return false;
  let done = false;
  if (view === 'models') done = c.querySelector('table a[data-model]') !== null;
  else if (view === 'metrics') {
    const canvases = c.querySelectorAll<HTMLCanvasElement>('figure.chart canvas');
    done = canvases.length >= 8;
    for (const canvas of done ? [canvases[0]!, canvases[canvases.length - 1]!] : []) {
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      let ink = false;
      for (let i = 3; i < data.length && !ink; i += 4) ink = data[i]! > 0;
      done &&= ink;
    }
  } else if (view === 'review') done = c.querySelector('p.left[data-left]') !== null;
  else if (view === 'batches') done = [...c.querySelectorAll('th')].some((th) => th.textContent === 'Ties → review');
  else if (view === 'versions') done = c.querySelector('details.version') !== null;
  else done = c.querySelector('.audit') !== null && c.querySelector('p.now') !== null;
  return done && performance.now() - (since === 'click' ? (window as unknown as { __t0: number }).__t0 : 0);
}

/** Waits (every animation frame) until `view` is painted; answers the milliseconds it took. */
async function until(page: Page, view: ViewName, since: 'navigation' | 'click'): Promise<number> {
  const handle = await page.waitForFunction(painted, { view, since }, { polling: 'raf', timeout: 60_000 });
  return (await handle.jsonValue()) as number;
}

interface Call {
  route: string;
  ms: number;
}

async function setUp(app: App, now: number): Promise<void> {
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const inject = async (method: 'GET' | 'POST' | 'PUT', url: string, key: string, payload?: object) => {
    const r = await app.inject({ method, url, headers: bearer(key), ...(payload ? { payload } : {}) });
    if (r.statusCode >= 300) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body.slice(0, 300)}`);
    return r.json();
  };
  for (const [version, parent] of [
    ['v1', null],
    ['v2', 'v1'],
    ['v3', 'v2'],
  ] as const) {
    const r = await publish(app, MODEL, version, { parent }, undefined, TRAINER);
    if (r.statusCode !== 201) throw new Error(`publish ${version}: ${r.statusCode} ${r.body}`);
  }
  await inject('PUT', `/v1/models/${MODEL}/rollout`, TRAINER, {
    stable: 'v1',
    canary: 'v2',
    canaryPercent: 10,
    auto: { stepPercent: 10, maxPercent: 50, intervalSec: 3600, minSamples: 1000, maxCorrectionRateDelta: 0.02 },
    reason: 'v2 passed the gate',
  });
  for (let i = 0; i < 100; i++) {
    await inject('POST', `/v1/models/${MODEL}/rollout/pause`, ADMIN, { reason: `look at the canary (${i})` });
    await inject('POST', `/v1/models/${MODEL}/rollout/resume`, ADMIN, { reason: `looks fine (${i})` });
  }
  const t = Date.now();
  const first = await inject('POST', `/v1/models/${MODEL}/batches`, ADMIN);
  console.log(`  batch of ${first.counts.examples} examples frozen in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  let reviewed = 0;
  while (reviewed < 200) {
    const queue = await inject('GET', `/v1/models/${MODEL}/review?limit=50`, ADMIN);
    if (queue.items.length === 0) break;
    for (const item of queue.items as { predictionId: string; predicted: { label: string } }[]) {
      await inject('POST', `/v1/events/${item.predictionId}/label`, ADMIN, { label: item.predicted.label });
      if (++reviewed === 200) break;
    }
  }
  const second = await inject('POST', `/v1/models/${MODEL}/batches`, ADMIN);
  console.log(
    `  ${reviewed} reviews, then a batch of ${second.counts.examples} examples; now ${new Date(now).toISOString()}`,
  );
}

async function measure(kind: 'sqlite' | 'postgres'): Promise<{ views: Row[]; calls: Row[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-admin-'));
  const schema = `bench_admin_${randomBytes(4).toString('hex')}`;
  const options: StorageOptions =
    kind === 'sqlite'
      ? { sqlite: { path: join(dir, 'edgeloop.db') } }
      : { postgres: { url: PG_URL, schema, statementTimeoutMs: 120_000 } };
  const now = Date.now();
  const fill = {
    model: MODEL,
    from: now - 30 * DAY,
    spanMs: 30 * DAY - 60_000,
    // The canary started 3 days ago on 10 % of the traffic.
    versionOf: (ts: number) => (ts > now - 3 * DAY && ts % 10 === 0 ? 'v2' : 'v1'),
    // Busier by day than by night, with a few more low-confidence predictions and corrections when busy.
    statsOf: (ts: number) => {
      const load = 1 + Math.sin((2 * Math.PI * (ts % DAY)) / DAY);
      return {
        predictions: Math.round(60 + 60 * load),
        lowConfidence: Math.round(8 + 6 * load),
        corrections: Math.round(1 + 2 * load),
        errors: ts % 7 === 0 ? 1 : 0,
        latencyMs: { p50: 3 + load, p95: 9 + 3 * load },
      };
    },
  };
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  let app: App | undefined;
  try {
    const storage = openStorage(options);
    await storage.migrate();
    await storage.close();
    const t = Date.now();
    const events =
      kind === 'sqlite'
        ? await loadSqlite(join(dir, 'edgeloop.db'), N, fill)
        : await loadPostgres(PG_URL, schema, N, fill);
    console.log(`${kind}: loaded ${events} events in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    if (kind === 'postgres') {
      // A store live for 30 days has been vacuumed by autovacuum (after inserts too, since PostgreSQL 13), which
      // sets the visibility map that index-only scans need; this server runs with autovacuum off, so do its work.
      const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
      await client.connect();
      await client.query('VACUUM (ANALYZE) events');
      await client.end();
    }

    app = await buildApp({
      storage: options,
      dataDir: dir,
      seedKeys: { admin: ADMIN, trainer: TRAINER },
      controller: false,
      rateLimit: false,
    });
    let calls: Call[] = [];
    app.addHook('onResponse', async (request, reply) => {
      if (request.url.startsWith('/v1/'))
        calls.push({ route: `${request.method} ${request.routeOptions.url}`, ms: reply.elapsedTime });
    });
    await setUp(app, now);
    const base = await app.listen({ port: 0, host: '127.0.0.1' });

    browser = await launchChromium();
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(`${base}/admin/`);
    await page.fill('input[name=key]', ADMIN);
    await page.click('button[type=submit]');
    await until(page, 'models', 'navigation');

    const paint: Record<string, { load: number[]; click: number[] }> = {};
    const server: Record<string, Record<string, number[]>> = {};
    const record = (view: ViewName, how: 'load' | 'click', value: number) => {
      (paint[view] ??= { load: [], click: [] })[how].push(value);
      for (const c of calls) ((server[view] ??= {})[c.route] ??= []).push(c.ms);
      calls = [];
    };
    for (let rep = 0; rep <= REPS; rep++) {
      // Rep 0 warms both sides up (the page's bundle in the browser cache, the store's pages in memory): not counted.
      const keep = rep > 0;
      for (const view of VIEWS) {
        await page.goto('about:blank');
        calls = [];
        await page.goto(`${base}/admin/#${view === 'models' ? 'models' : `${view}:${MODEL}`}`);
        const value = await until(page, view, 'navigation');
        if (keep) record(view, 'load', value);
      }
      // By click, each view from the one before (the last load left the rollout view open).
      for (const view of ['models', ...VIEWS.slice(1)] as ViewName[]) {
        calls = [];
        await page.evaluate((tab) => {
          (window as unknown as { __t0: number }).__t0 = performance.now();
          document.querySelector<HTMLButtonElement>(`nav button[data-tab="${tab}"]`)!.click();
        }, view);
        const value = await until(page, view, 'click');
        if (keep) record(view, 'click', value);
      }
      calls = [];
    }

    const views: Row[] = VIEWS.map((view) => {
      const { load, click } = paint[view]!;
      const api = Object.entries(server[view] ?? {});
      const slowest = api.sort((a, b) => Math.max(...b[1]) - Math.max(...a[1]))[0];
      return {
        store: kind,
        events,
        view,
        loadMedianMs: ms(median(load)),
        loadMaxMs: ms(Math.max(...load)),
        clickMedianMs: ms(median(click)),
        clickMaxMs: ms(Math.max(...click)),
        slowestCall: slowest ? slowest[0] : null,
        slowestCallMedianMs: slowest ? +median(slowest[1]).toFixed(1) : null,
        slowestCallMaxMs: slowest ? +Math.max(...slowest[1]).toFixed(1) : null,
        loadAvg: +loadavg()[0]!.toFixed(1),
        targetMs: TARGET_MS,
        pass: median(load) <= TARGET_MS && median(click) <= TARGET_MS,
      };
    });
    const callRows: Row[] = VIEWS.flatMap((view) =>
      Object.entries(server[view] ?? {}).map(([route, times]) => ({
        store: kind,
        view,
        call: route,
        n: times.length,
        medianMs: +median(times).toFixed(1),
        maxMs: +Math.max(...times).toFixed(1),
      })),
    );
    return { views, calls: callRows };
  } finally {
    await browser?.close();
    await app?.close();
    if (kind === 'postgres') {
      await dropSchema(PG_URL, schema);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

await buildAdminPage();
const rows: Row[] = [];
const calls: Row[] = [];
// ADMIN_STORES=sqlite (or postgres) measures one store only.
const STORES = (process.env.ADMIN_STORES ?? 'sqlite,postgres').split(',') as ('sqlite' | 'postgres')[];
for (const kind of STORES) {
  const r = await measure(kind);
  rows.push(...r.views);
  calls.push(...r.calls);
}
console.log('\nServer time of each API call, per view (load and click together):');
console.table(calls);
report('admin', rows, { events: N, reps: REPS, calls });
if (rows.some((r) => !r.pass)) process.exitCode = 1;
