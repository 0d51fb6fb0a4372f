/**
 * Every route of the route table, fuzzed from its protocol spec on both stores (fast-check, fixed seed): no
 * request gets a 5xx; every error carries a catalogue code with that code's status; no request without the
 * route's scope succeeds; a refused request, and any read, leaves the store as it was; an accepted write stores
 * its text exactly as sent. `FUZZ_RUNS` sets the cases per store (`npm run fuzz` runs the soak), `FUZZ_SEED` the seed.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fc from 'fast-check';
import { endpoints, postEvents } from '@edgeloop/protocol';
import { errors as catalogue, type App, type RouteEntry } from '@edgeloop/collector';
import { makeApp, STORE_KINDS, type TestStore } from './helpers/stores.js';
import { MODEL, labeled, freeze } from './helpers/labels.js';
import { publish } from './helpers/release.js';
import type { Schema } from './helpers/fuzz/arbitraries.js';
import { realise, unstorable } from './helpers/fuzz/hostile.js';
import { KnownValues } from './helpers/fuzz/known.js';
import { build, caseArb, UNSPECIFIED_ROUTES, type Built } from './helpers/fuzz/requests.js';
import { openReader, type StoreReader } from './helpers/fuzz/state.js';
import { parsed, READ_BACK } from './helpers/fuzz/read-back.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.FUZZ_SEED ?? 14_2026);

/** Without a built admin page, /admin answers 503 EL_ADMIN_NOT_BUILT by design (the admin-page test builds it). */
const ADMIN_BUILT = existsSync(new URL('../admin-dist/index.html', import.meta.url));
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
const name = (r: { method: string; url: string }) => `${r.method} ${r.url}`;

/**
 * Asserts that a request that succeeded carried nothing a store cannot keep as sent; ingest may succeed with
 * such an event only by rejecting that event alone.
 */
function assertStorable(route: RouteEntry, req: Built, answer: unknown, what: string) {
  // Of the query, only what the spec declares is read (other keys are ignored, or refused where it is closed).
  const declared = Object.keys((route.endpoint?.querystring as Schema | undefined)?.properties ?? {});
  const query = req.sent.query !== null && typeof req.sent.query === 'object' ? (req.sent.query as object) : {};
  const read = Object.entries(query).filter(([k]) => declared.includes(k));
  assert.ok(!unstorable(req.sent.params) && !unstorable(read), `unstorable params or query refused: ${what}`);
  const body = parsed(req.sent.body);
  if (route.endpoint !== postEvents) return assert.ok(!unstorable(body), `an unstorable body refused: ${what}`);
  const events = (body as { events?: unknown[] } | null)?.events ?? [];
  const rejected = new Set(((answer as { rejected?: { index: number }[] } | null)?.rejected ?? []).map((r) => r.index));
  events.forEach((e, i) => assert.ok(!unstorable(e) || rejected.has(i), `unstorable event ${i} rejected: ${what}`));
}

/** The catalogue's status of `code`, or undefined when the code is not in the catalogue. */
function statusOf(code: unknown): number | undefined {
  const E = typeof code === 'string' ? catalogue[code] : undefined;
  return E ? new E('x', 'y', 'z').statusCode : undefined;
}

const describeReq = (req: Built) =>
  `${req.method} ${req.url.slice(0, 300)} ${JSON.stringify(req.headers).slice(0, 200)} ${String(req.payload ?? '').slice(0, 300)}`;

for (const kind of STORE_KINDS) {
  describe(`fuzz from the API specs (${kind})`, () => {
    let app: App;
    let store: TestStore;
    let close: () => Promise<void>;
    let db: StoreReader;
    const known = new KnownValues();

    before(async () => {
      ({ app, store, close } = await makeApp(kind));
      await app.ready();
      const published = await publish(app, MODEL, 'v1');
      assert.equal(published.statusCode, 201, published.body);
      for (let seed = 1; seed <= 6; seed++) {
        const p = await labeled(app, seed, seed % 2 ? { a: '7' } : { a: '1', b: '2' }, { reason: 'low_confidence' });
        known.add('prediction', p.id);
        known.add('inputHash', p.inputHash);
      }
      const batch = await freeze(app);
      assert.equal(batch.statusCode, 201, batch.body);
      known.add('batch', batch.json().id);
      for (const [pool, values] of Object.entries({
        model: [MODEL, 'fuzz-new'],
        version: ['v1'],
        device: ['device-p', 'a'],
        label: ['7', '1'],
        sha256: (await app.storage.registry.get(MODEL, 'v1'))?.artifacts.map((a) => a.sha256) ?? [],
      }))
        for (const v of values) known.add(pool, v);
      db = await openReader(store);
    });
    after(async () => {
      await db?.close();
      await close?.();
    });

    test('every route of the route table is fuzzed: from its spec, or as a route without one', () => {
      const uncovered = app.routeTable.filter((r) => !r.endpoint && !UNSPECIFIED_ROUTES.has(name(r))).map(name);
      assert.deepEqual(
        uncovered,
        [],
        'routes the fuzz cannot draw requests for: give them a spec in @edgeloop/protocol',
      );
      for (const [spec, e] of Object.entries(endpoints))
        assert.ok(
          app.routeTable.some((r) => r.endpoint === e),
          `${spec} is a route (and so is fuzzed)`,
        );
      for (const unspecified of UNSPECIFIED_ROUTES)
        assert.ok(
          app.routeTable.some((r) => name(r) === unspecified),
          `${unspecified} is still a route`,
        );
    });

    test(`${RUNS} fuzzed requests over every route: no 5xx, catalogue codes, refusals store nothing, text stored as sent`, async (t) => {
      const routes = app.routeTable;
      // Writes get three times the cases of plain reads, reads with a query twice: they have more to get wrong.
      const weight = (r: RouteEntry) => (!READS.has(r.method) ? 3 : r.endpoint?.querystring ? 2 : 1);
      const unit = RUNS / routes.reduce((n, r) => n + weight(r), 0);
      let sent = 0;
      const statuses = new Map<string, Map<number, number>>();
      for (const route of routes) {
        const seen = new Map<number, number>();
        statuses.set(name(route), seen);
        await t.test(name(route), async () => {
          const readBack = route.endpoint ? READ_BACK.get(route.endpoint) : undefined;
          await fc.assert(
            fc.asyncProperty(caseArb(route), async (c) => {
              const req = await build(route, c, (d) => realise(d, (k) => known.pick(k, route.url)));
              const before = await db.fingerprint();
              const noted = readBack?.before ? await readBack.before(db, req) : undefined;
              const res = await app.inject({
                method: req.method as 'GET',
                url: req.url,
                headers: req.headers,
                ...(req.payload === undefined ? {} : { payload: req.payload }),
              });
              sent++;
              seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
              if (process.env.FUZZ_TRACE && route.url.includes(process.env.FUZZ_TRACE))
                console.log('TRACE', res.statusCode, res.body.slice(0, 200), describeReq(req).slice(0, 400));
              const what = `${res.statusCode} ${res.body.slice(0, 300)}\n  for ${describeReq(req)}`;
              const unbuilt = !ADMIN_BUILT && route.url.startsWith('/admin') && res.statusCode === 503;
              if (unbuilt)
                assert.equal(req.method === 'HEAD' ? 'EL_ADMIN_NOT_BUILT' : res.json().code, 'EL_ADMIN_NOT_BUILT');
              else assert.ok(res.statusCode < 500, `no 5xx: ${what}`);
              if (res.statusCode >= 400 && req.method !== 'HEAD') {
                const body = res.json() as { code?: unknown; statusCode?: unknown };
                assert.equal(statusOf(body.code), res.statusCode, `a catalogue code with its status: ${what}`);
                assert.equal(body.statusCode, res.statusCode, what);
              }
              if (!req.authorised) assert.ok(res.statusCode >= 300, `succeeds only with the route's scope: ${what}`);
              const changed = (await db.fingerprint()) !== before;
              if (res.statusCode >= 400) assert.ok(!changed, `a refused request stores nothing: ${what}`);
              else if (READS.has(req.method)) assert.ok(!changed, `a read stores nothing: ${what}`);
              const answer =
                res.statusCode < 300 &&
                req.method !== 'HEAD' &&
                String(res.headers['content-type'] ?? '').startsWith('application/json')
                  ? (res.json() as unknown)
                  : null;
              if (route.endpoint && res.statusCode < 400) assertStorable(route, req, answer, what);
              if (res.statusCode < 300 && !READS.has(req.method)) {
                await readBack?.after(db, req, answer, noted).catch((err: Error) => {
                  throw new Error(`${err.message}: ${what}`, { cause: err });
                });
                known.learn(route, req, answer);
              }
            }),
            {
              numRuns: Math.max(5, Math.ceil(unit * weight(route))),
              // A seed per route, so that GET and HEAD of one url do not send the same cases.
              seed: SEED + [...name(route)].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) | 0, 0),
              endOnFailure: process.env.FUZZ_SHRINK !== '1',
            },
          );
        });
      }
      t.diagnostic(`${sent} requests on ${kind} over ${routes.length} routes, seed ${SEED}`);
      if (process.env.FUZZ_VERBOSE)
        for (const [route, seen] of statuses)
          t.diagnostic(
            `${route}: ${[...seen]
              .sort((a, b) => a[0] - b[0])
              .map(([s, n]) => `${s}×${n}`)
              .join(' ')}`,
          );
    });
  });
}
