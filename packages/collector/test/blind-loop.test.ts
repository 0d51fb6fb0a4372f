// The blind-loop guard: a version whose confidence histogram is degenerate (every prediction sure, nothing
// low-confidence) is flagged in the metrics report and in the trainer's blind-loop route, on both stores.
import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { blindLoopOf, BLIND_LOOP_DEFAULTS, type BlindLoopReport, type MetricsReport } from '@edgeloop/protocol';
import type { App } from '@edgeloop/collector';
import { KEYS, bearer, makeApp, STORE_KINDS } from './helpers/stores.js';
import { publish, stats } from './helpers/release.js';

describe('blindLoopOf', () => {
  const healthy = { predictions: 2000, lowConfidence: 120, confidenceHist: [0, 0, 0, 0, 40, 80, 100, 200, 400, 1180] };

  test('does not flag a histogram with low-confidence predictions and a spread below the top bin', () => {
    const b = blindLoopOf(healthy);
    assert.equal(b.blind, false);
    assert.equal(b.reason, null);
    assert.ok(Math.abs(b.topBinShare! - 1180 / 2000) < 1e-12);
  });

  test('flags a version with no low-confidence prediction at all over N', () => {
    const b = blindLoopOf({
      predictions: 2000,
      lowConfidence: 0,
      confidenceHist: [0, 0, 0, 0, 0, 0, 0, 100, 300, 1600],
    });
    assert.equal(b.blind, true);
    assert.match(b.reason!, /no low-confidence prediction in 2000/);
  });

  test('flags a version with at least 99 % of its predictions in the top bin', () => {
    const b = blindLoopOf({
      predictions: 10_000,
      lowConfidence: 3,
      confidenceHist: [0, 0, 0, 0, 0, 3, 0, 0, 50, 9947],
    });
    assert.equal(b.blind, true);
    assert.match(b.reason!, /99\.5 % of 10000 predictions in the top confidence bin/);
  });

  test('judges nothing under N predictions, and N and the share can be set', () => {
    const few = blindLoopOf({
      predictions: BLIND_LOOP_DEFAULTS.minPredictions - 1,
      lowConfidence: 0,
      confidenceHist: [0, 0, 0, 0, 0, 0, 0, 0, 0, BLIND_LOOP_DEFAULTS.minPredictions - 1],
    });
    assert.equal(few.blind, false);
    assert.match(few.reason!, /not judged/);
    assert.equal(
      blindLoopOf(
        { predictions: 50, lowConfidence: 0, confidenceHist: [0, 0, 0, 0, 0, 0, 0, 0, 0, 50] },
        { minPredictions: 50 },
      ).blind,
      true,
    );
    assert.equal(blindLoopOf(healthy, { maxTopBinShare: 0.5 }).blind, true);
  });
});

for (const kind of STORE_KINDS) {
  describe(`blind-loop flag (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    const since = Date.now() - 60_000;

    before(async () => {
      ({ app, close } = await makeApp(kind));
      for (const v of ['v1', 'v2']) assert.equal((await publish(app, 'digits', v)).statusCode, 201);
      const r = await app.inject({
        method: 'PUT',
        url: '/v1/models/digits/rollout',
        headers: bearer(KEYS.admin),
        payload: { stable: 'v1', canary: 'v2', canaryPercent: 10 },
      });
      assert.equal(r.statusCode, 200, r.body);
      // v1 sees its inputs as they should be: some low-confidence, a spread of confidences. v2 was published with
      // pixels × 255: every answer sure, over two devices' windows.
      await app.storage.events.insert(
        [
          stats({
            model: 'digits',
            version: 'v1',
            predictions: 1500,
            lowConfidence: 90,
            confidenceHist: [0, 0, 0, 0, 30, 60, 90, 180, 300, 840],
          }),
          stats({
            model: 'digits',
            version: 'v2',
            predictions: 700,
            lowConfidence: 0,
            confidenceHist: [0, 0, 0, 0, 0, 0, 0, 0, 0, 700],
          }),
          stats({
            model: 'digits',
            version: 'v2',
            predictions: 600,
            lowConfidence: 0,
            confidenceHist: [0, 0, 0, 0, 0, 0, 0, 0, 1, 599],
          }),
        ],
        Date.now(),
      );
    });
    after(() => close());

    test('the metrics report flags the blind version and only it', async () => {
      const r = await app.inject({
        method: 'GET',
        url: `/v1/models/digits/metrics?since=${since}`,
        headers: bearer(KEYS.admin),
      });
      assert.equal(r.statusCode, 200, r.body);
      const body = r.json() as MetricsReport;
      const by = Object.fromEntries(body.versions.map((v) => [v.version, v.blindLoop]));
      assert.equal(by.v1!.blind, false);
      assert.equal(by.v2!.blind, true);
      assert.equal(by.v2!.predictions, 1300);
      assert.equal(by.v2!.lowConfidence, 0);
      assert.ok(Math.abs(by.v2!.topBinShare! - 1299 / 1300) < 1e-12);
      assert.match(by.v2!.reason!, /no low-confidence prediction in 1300/);
    });

    test('a trainer key reads the flag from the blind-loop route, with N and the share as parameters', async () => {
      const get = (query: string, key: string = KEYS.trainer) =>
        app.inject({ method: 'GET', url: `/v1/models/digits/blind-loop?since=${since}${query}`, headers: bearer(key) });
      const r = await get('');
      assert.equal(r.statusCode, 200, r.body);
      const body = r.json() as BlindLoopReport;
      assert.deepEqual(
        body.versions.map((v) => [v.version, v.channel, v.blindLoop.blind]),
        [
          ['v1', 'stable', false],
          ['v2', 'canary', true],
        ],
      );
      assert.equal(body.versions[1]!.confidenceHist[9], 1299);
      // Stricter: a larger N leaves v2 unjudged; a lower share flags v1 too.
      const strict = (await get('&minPredictions=5000')).json() as BlindLoopReport;
      assert.deepEqual(
        strict.versions.map((v) => v.blindLoop.blind),
        [false, false],
      );
      const share = (await get('&maxTopBinShare=0.5')).json() as BlindLoopReport;
      assert.deepEqual(
        share.versions.map((v) => v.blindLoop.blind),
        [true, true],
      );
      assert.equal((await get('', KEYS.ingest)).statusCode, 403);
      assert.equal((await get('&maxTopBinShare=2')).statusCode, 400);
    });
  });
}
