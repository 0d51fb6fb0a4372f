import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '@edgeloop/collector';
import { labelPsi, psi } from '@edgeloop/collector/internal';
import { KEYS, bearer, makeApp, STORE_KINDS } from './helpers/stores.js';
import { publish, stats } from './helpers/release.js';
import { correction, errorEvent } from './helpers/events.js';

const MIN = 60_000;

describe('population stability index', () => {
  test('is zero for identical distributions, whatever their scale', () => {
    assert.equal(psi([10, 20, 30], [1, 2, 3]), 0);
    assert.equal(labelPsi({ a: 5, b: 5 }, { b: 50, a: 50 }), 0);
  });

  test('matches the textbook formula for a shift', () => {
    // Σ (a − e) ln(a / e) with shares e = (0.5, 0.5) and a = (0.8, 0.2).
    const expected = (0.8 - 0.5) * Math.log(0.8 / 0.5) + (0.2 - 0.5) * Math.log(0.2 / 0.5);
    assert.ok(Math.abs(psi([50, 50], [80, 20])! - expected) < 1e-12);
  });

  test('stays finite when a bin or a label is empty on one side, and is null without data', () => {
    const v = labelPsi({ a: 100 }, { a: 50, b: 50 });
    assert.ok(v !== null && Number.isFinite(v) && v > 0.25);
    assert.equal(psi([0, 0], [1, 1]), null);
  });
});

for (const kind of STORE_KINDS) {
  describe(`metrics (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    let t0 = 0;

    before(async () => {
      ({ app, close } = await makeApp(kind));
      for (const v of ['v1', 'v2']) assert.equal((await publish(app, 'digits', v)).statusCode, 201);
      const r = await app.inject({
        method: 'PUT',
        url: '/v1/models/digits/rollout',
        headers: bearer(KEYS.admin),
        payload: { stable: 'v1', canary: 'v2', canaryPercent: 10 },
      });
      assert.equal(r.statusCode, 200);
      t0 = Math.floor(Date.now() / MIN) * MIN - 10 * MIN;
      const uniform = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(i), 100]));
      const sevens = { ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(i), 20])), '7': 820 };
      // Minute 0: stable 1000 predictions over two devices, canary 200; minute 1: stable another 1000.
      await app.storage.events.insert(
        [
          stats({
            model: 'digits',
            version: 'v1',
            predictions: 600,
            lowConfidence: 60,
            corrections: 6,
            errors: 1,
            latencyMs: { p50: 2, p95: 6 },
            labelCounts: scale(uniform, 0.6),
            confidenceHist: [0, 0, 0, 0, 0, 0, 60, 60, 180, 300],
          }),
          stats({
            model: 'digits',
            version: 'v1',
            predictions: 400,
            lowConfidence: 40,
            corrections: 4,
            errors: 0,
            latencyMs: { p50: 4, p95: 10 },
            labelCounts: scale(uniform, 0.4),
            confidenceHist: [0, 0, 0, 0, 0, 0, 40, 40, 120, 200],
          }),
          stats({
            model: 'digits',
            version: 'v2',
            predictions: 200,
            lowConfidence: 60,
            corrections: 10,
            errors: 0,
            latencyMs: { p50: 5, p95: 12 },
            labelCounts: scale(sevens, 0.2),
            confidenceHist: [0, 0, 0, 10, 20, 30, 40, 40, 40, 20],
          }),
        ],
        t0 + 1000,
      );
      await app.storage.events.insert(
        [
          stats({
            model: 'digits',
            version: 'v1',
            predictions: 1000,
            lowConfidence: 100,
            corrections: 10,
            errors: 0,
            latencyMs: { p50: 3, p95: 8 },
            labelCounts: uniform,
            confidenceHist: [0, 0, 0, 0, 0, 0, 100, 100, 300, 500],
          }),
          ...Array.from({ length: 14 }, () =>
            correction('0190a0a0-0000-7000-8000-000000000000', '1', { model: 'digits', version: 'v2' }),
          ),
          ...Array.from({ length: 3 }, () => errorEvent({ model: 'digits', version: 'v2' })),
        ],
        t0 + MIN + 1000,
      );
      // Outside the window asked for below: never counted.
      await app.storage.events.insert([stats({ model: 'digits', version: 'v1', predictions: 5000 })], t0 + 5 * MIN);
    });
    after(() => close());

    const get = (query: string, key: string = KEYS.admin) =>
      app.inject({ method: 'GET', url: `/v1/models/digits/metrics?${query}`, headers: bearer(key) });

    test('reports per-version counts, rates and latency from stats and correction/error events', async () => {
      const r = await get(`since=${t0}&until=${t0 + 2 * MIN}&bucket=60`);
      assert.equal(r.statusCode, 200, r.body);
      const body = r.json();
      assert.equal(body.stable, 'v1');
      assert.equal(body.canary, 'v2');
      assert.equal(body.reference, 'v1');
      assert.deepEqual(
        body.versions.map((v: { version: string; channel: string }) => [v.version, v.channel]),
        [
          ['v1', 'stable'],
          ['v2', 'canary'],
        ],
      );
      const [stable, canary] = body.versions;
      assert.equal(stable.predictions, 2000);
      assert.equal(stable.lowConfidenceRate, 0.1);
      assert.equal(stable.correctionRate, 0.01);
      assert.equal(stable.errors, 1);
      assert.ok(Math.abs(stable.latencyMs.p50 - (600 * 2 + 400 * 4 + 1000 * 3) / 2000) < 1e-9);
      assert.equal(canary.predictions, 200);
      assert.equal(canary.lowConfidenceRate, 0.3);
      // 14 correction events outnumber the 10 the stats windows counted; 3 error events against none. The rate
      // is over the windows (10 of their 200 predictions); the 4 events they have not counted are shown apart.
      assert.equal(canary.corrections, 14);
      assert.equal(canary.correctionRate, 10 / 200);
      assert.equal(canary.unmatchedCorrections, 4);
      assert.equal(stable.unmatchedCorrections, 0);
      // Mean confidence from the histograms' bin centres: 200 at 0.65, 200 at 0.75, 600 at 0.85, 1000 at 0.95.
      assert.ok(Math.abs(stable.meanConfidence - 0.87) < 1e-9, String(stable.meanConfidence));
      assert.equal(canary.errors, 3);
      assert.equal(canary.errorRate, 3 / 203);
    });

    test('measures drift as PSI against stable: none for stable, large for a shifted canary', async () => {
      const body = (await get(`since=${t0}&until=${t0 + 2 * MIN}&bucket=60`)).json();
      const [stable, canary] = body.versions;
      assert.equal(stable.drift.label, 0);
      assert.equal(stable.drift.confidence, 0);
      assert.ok(canary.drift.label > 0.25, `label PSI ${canary.drift.label}`);
      assert.ok(canary.drift.confidence > 0.25, `confidence PSI ${canary.drift.confidence}`);
    });

    test('splits the window into buckets', async () => {
      const body = (await get(`since=${t0}&until=${t0 + 2 * MIN}&bucket=60`)).json();
      const [stable, canary] = body.versions;
      assert.deepEqual(
        stable.series.map((p: { from: number; predictions: number }) => [p.from - t0, p.predictions]),
        [
          [0, 1000],
          [MIN, 1000],
        ],
      );
      assert.deepEqual(
        canary.series.map((p: { from: number; predictions: number; corrections: number }) => [
          p.from - t0,
          p.predictions,
          p.corrections,
        ]),
        [
          [0, 200, 10],
          [MIN, 0, 14],
        ],
      );
      for (const p of stable.series) assert.ok(Math.abs(p.drift.label) < 1e-9);
      const whole = (await get(`since=${t0}&until=${t0 + 2 * MIN}&bucket=3600`)).json();
      assert.equal(whole.versions[0].series.length, 1);
    });

    test('the correction rate never exceeds 100 % while the stats windows lag behind the corrections', async () => {
      // 50 reports sent at once; the windows that counted them bring 47 predictions and 47 of the corrections.
      const lag = t0 + 20 * MIN;
      await app.storage.events.insert(
        Array.from({ length: 50 }, () =>
          correction('0190a0a0-0000-7000-8000-000000000000', '3', { model: 'digits', version: 'v3-lag' }),
        ),
        lag + 1000,
      );
      await app.storage.events.insert(
        [stats({ model: 'digits', version: 'v3-lag', predictions: 47, corrections: 47 })],
        lag + 30_000,
      );
      const body = (await get(`since=${lag}&until=${lag + MIN}&bucket=60`)).json();
      const v = body.versions.find((x: { version: string }) => x.version === 'v3-lag');
      assert.equal(v.corrections, 50);
      assert.equal(v.correctionRate, 1);
      assert.equal(v.unmatchedCorrections, 3);
      for (const p of v.series) assert.ok(p.correctionRate === null || p.correctionRate <= 1, JSON.stringify(p));
      // A window holding corrections of predictions counted in the window before it is capped at its predictions.
      const late = t0 + 30 * MIN;
      await app.storage.events.insert(
        [stats({ model: 'digits', version: 'v4-late', predictions: 2, corrections: 5 })],
        late + 1000,
      );
      const capped = (await get(`since=${late}&until=${late + MIN}&bucket=60`)).json();
      assert.equal(capped.versions.find((x: { version: string }) => x.version === 'v4-late').correctionRate, 1);
    });

    test('refuses a bad window and ingest keys; a trainer key reads it (the drift trigger)', async () => {
      assert.equal((await get(`since=${t0}&until=${t0}`)).statusCode, 400);
      assert.equal((await get(`since=0&until=${t0}&bucket=1`)).statusCode, 400);
      assert.equal((await get('bucket=0')).statusCode, 400);
      assert.equal((await get('', KEYS.ingest)).statusCode, 403);
      assert.equal((await get('', KEYS.trainer)).statusCode, 200);
    });

    test('an unknown model reports no versions', async () => {
      const r = await app.inject({ method: 'GET', url: '/v1/models/nobody/metrics', headers: bearer(KEYS.admin) });
      assert.equal(r.statusCode, 200);
      assert.deepEqual(r.json().versions, []);
    });
  });
}

function scale(counts: Record<string, number>, f: number): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, Math.round(v * f)]));
}
