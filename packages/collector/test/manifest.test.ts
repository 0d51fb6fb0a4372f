import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { inCanary, type Manifest, type Version } from '@edgeloop/protocol';
import type { App } from '@edgeloop/collector';
import { ManifestCache, type RolloutState } from '@edgeloop/collector/internal';
import { KEYS, bearer, makeApp, STORE_KINDS } from './helpers/stores.js';
import { publish } from './helpers/release.js';

const DEVICES = Array.from({ length: 1000 }, (_, i) => `device-${i}`);

for (const kind of STORE_KINDS) {
  describe(`manifest (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    const manifest = (device: string, headers: Record<string, string> = bearer(KEYS.ingest)) =>
      app.inject({ method: 'GET', url: `/v1/models/digits/manifest?device=${encodeURIComponent(device)}`, headers });
    const put = (body: object) =>
      app.inject({ method: 'PUT', url: '/v1/models/digits/rollout', headers: bearer(KEYS.admin), payload: body });
    const canaryDevices = async () => {
      const out = new Set<string>();
      for (const d of DEVICES) if ((await manifest(d)).json().channel === 'canary') out.add(d);
      return out;
    };

    before(async () => {
      ({ app, close } = await makeApp(kind, { pollAfterSec: 30 }));
      assert.equal(
        (await publish(app, 'digits', 'v1', { policy: { lowConfidence: 0.7, sampleRate: 0.05 } })).statusCode,
        201,
      );
      assert.equal((await publish(app, 'digits', 'v2', { parent: 'v1' })).statusCode, 201);
    });
    after(() => close());

    test('tells a device which version to run, with artifact urls by sha256', async () => {
      const r = await manifest('device-1');
      assert.equal(r.statusCode, 200);
      assert.match(r.headers['content-type'] as string, /^application\/json/);
      const m = r.json() as Manifest;
      const v = (
        await app.inject({ method: 'GET', url: '/v1/models/digits/versions/v1', headers: bearer(KEYS.admin) })
      ).json() as Version;
      assert.deepEqual(m, {
        model: 'digits',
        version: 'v1',
        channel: 'stable',
        artifacts: v.artifacts,
        labels: v.meta.labels,
        input: { shape: [28, 28, 1], dtype: 'float32', normalize: { scale: 1, offset: 0 } },
        policy: { lowConfidence: 0.7, sampleRate: 0.05 },
        pollAfterSec: 30,
      });
      for (const a of m.artifacts) assert.equal(a.url, `/v1/artifacts/${a.sha256}`);
    });

    test("passes the version's input description (layout, per-channel mean/std) and output kind to devices, and refuses statistics that do not fit the channels", async () => {
      const input = {
        shape: [32, 32, 3],
        dtype: 'uint8' as const,
        normalize: { scale: 1 / 255, offset: 0, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
        layout: 'nchw' as const,
      };
      const output = { kind: 'logits' as const, temperature: 1.5 };
      assert.equal((await publish(app, 'imported', 'v1', { labels: ['cat', 'dog'], input, output })).statusCode, 201);
      const m = (
        await app.inject({ method: 'GET', url: '/v1/models/imported/manifest?device=d1', headers: bearer(KEYS.ingest) })
      ).json() as Manifest;
      assert.deepEqual({ input: m.input, output: m.output }, { input, output });
      const bad = await publish(app, 'imported', 'v2', {
        labels: ['cat', 'dog'],
        input: { ...input, normalize: { ...input.normalize, std: [0.2, 0.2] } },
      });
      assert.equal(bad.statusCode, 422, bad.body);
      assert.equal(bad.json().code, 'EL_INVALID_VERSION');
      assert.match(bad.json().message, /std has 2 values for 3 channels/);
      const kind = await publish(app, 'imported', 'v3', {
        labels: ['cat', 'dog'],
        output: { kind: 'softmax' as never },
      });
      assert.equal(kind.statusCode, 422, kind.body);
    });

    test('answers 304 to a device that has the current manifest', async () => {
      const first = await manifest('device-1');
      const etag = first.headers.etag as string;
      assert.match(etag, /^"[A-Za-z0-9_-]+"$/);
      const again = await manifest('device-1', { ...bearer(KEYS.ingest), 'if-none-match': etag });
      assert.equal(again.statusCode, 304);
      assert.equal(again.body, '');
      assert.equal(again.headers.etag, etag);
      const stale = await manifest('device-1', { ...bearer(KEYS.ingest), 'if-none-match': '"something-else"' });
      assert.equal(stale.statusCode, 200);
    });

    test('accepts the ingest key in the query and refuses a missing key or device', async () => {
      const q = await app.inject({ method: 'GET', url: `/v1/models/digits/manifest?device=d1&key=${KEYS.ingest}` });
      assert.equal(q.statusCode, 200);
      assert.equal((await app.inject({ method: 'GET', url: '/v1/models/digits/manifest?device=d1' })).statusCode, 401);
      assert.equal(
        (await app.inject({ method: 'GET', url: '/v1/models/digits/manifest', headers: bearer(KEYS.ingest) }))
          .statusCode,
        400,
      );
    });

    test('an unknown model has no manifest', async () => {
      const r = await app.inject({
        method: 'GET',
        url: '/v1/models/unknown/manifest?device=d1',
        headers: bearer(KEYS.ingest),
      });
      assert.equal(r.statusCode, 404);
      assert.equal(r.json().code, 'EL_MODEL_NOT_FOUND');
    });

    test('canary assignment follows the shared bucketing', async () => {
      assert.equal((await put({ stable: 'v1', canary: 'v2', canaryPercent: 10 })).statusCode, 200);
      const inCanaryNow = await canaryDevices();
      const expected = new Set(DEVICES.filter((d) => inCanary('digits', d, 10)));
      assert.deepEqual(inCanaryNow, expected);
      assert.ok(expected.size > 50 && expected.size < 150, `about 10% of 1000 devices, got ${expected.size}`);
      const c = (await manifest([...expected][0]!)).json() as Manifest;
      assert.equal(c.version, 'v2');
      assert.equal(c.channel, 'canary');
    });

    test('raising the percent only adds devices', async () => {
      const at10 = await canaryDevices();
      assert.equal((await put({ stable: 'v1', canary: 'v2', canaryPercent: 35.5 })).statusCode, 200);
      const at35 = await canaryDevices();
      for (const d of at10) assert.ok(at35.has(d), `${d} left the canary when the percent went up`);
      assert.ok(at35.size > at10.size);
      assert.deepEqual(at35, new Set(DEVICES.filter((d) => inCanary('digits', d, 35.5))));
    });

    test('the ETag changes with the assigned version, so a device learns of a rollback', async () => {
      const device = DEVICES.find((d) => inCanary('digits', d, 35.5))!;
      const onCanary = await manifest(device);
      assert.equal(onCanary.json().version, 'v2');
      assert.equal(
        (await app.inject({ method: 'POST', url: '/v1/models/digits/rollout/rollback', headers: bearer(KEYS.admin) }))
          .statusCode,
        200,
      );
      const after = await manifest(device, {
        ...bearer(KEYS.ingest),
        'if-none-match': onCanary.headers.etag as string,
      });
      assert.equal(after.statusCode, 200);
      assert.equal(after.json().version, 'v1');
      assert.equal((await canaryDevices()).size, 0);
    });

    test('a device that joined the canary (canary=true) gets the live canary whatever its bucket, even at 0 %', async () => {
      const device = DEVICES.find((d) => !inCanary('digits', d, 50))!;
      const joined = (headers: Record<string, string> = bearer(KEYS.ingest)) =>
        app.inject({ method: 'GET', url: `/v1/models/digits/manifest?device=${device}&canary=true`, headers });
      // No live canary: asking creates none, the device gets stable.
      const none = await joined();
      assert.equal(none.statusCode, 200);
      assert.deepEqual([none.json().version, none.json().channel], ['v1', 'stable']);

      assert.equal((await put({ stable: 'v1', canary: 'v2', canaryPercent: 0 })).statusCode, 200);
      assert.equal((await canaryDevices()).size, 0, 'at 0 % no device is in the canary by its bucket');
      const on = await joined({ ...bearer(KEYS.ingest), 'if-none-match': none.headers.etag as string });
      assert.equal(on.statusCode, 200, 'the stable ETag no longer matches: the device learns of the canary');
      assert.deepEqual([on.json().version, on.json().channel], ['v2', 'canary']);
      // The same bytes as any canary device's, so the same ETag and a 304 on the next poll.
      assert.equal(
        (await joined({ ...bearer(KEYS.ingest), 'if-none-match': on.headers.etag as string })).statusCode,
        304,
      );
      const byBucket = await app.inject({
        method: 'GET',
        url: `/v1/models/digits/manifest?device=${device}&canary=false`,
        headers: bearer(KEYS.ingest),
      });
      assert.deepEqual([byBucket.json().version, byBucket.json().channel], ['v1', 'stable'], 'canary=false: by bucket');
      assert.equal((await manifest(device)).json().version, 'v1', 'absent: by bucket');

      // A promotion makes the canary stable for everyone; the joined device stays on it, now as stable.
      assert.equal(
        (await app.inject({ method: 'POST', url: '/v1/models/digits/rollout/promote', headers: bearer(KEYS.admin) }))
          .statusCode,
        200,
      );
      assert.deepEqual([(await joined()).json().version, (await joined()).json().channel], ['v2', 'stable']);
    });

    test('refuses a canary value that is not a boolean, with a stable code', async () => {
      for (const v of ['yes', '2', '', 'true%00']) {
        const r = await app.inject({
          method: 'GET',
          url: `/v1/models/digits/manifest?device=d1&canary=${v}`,
          headers: bearer(KEYS.ingest),
        });
        assert.equal(r.statusCode, 400, `canary=${v}: ${r.body}`);
        assert.equal(r.json().code, 'EL_INVALID_BODY');
        assert.match(r.json().message, /querystring.*canary/);
      }
    });
  });
}

describe('manifest cache', () => {
  const version = (v: string): Version => ({
    model: 'm',
    version: v,
    createdAt: 1,
    createdBy: 't',
    artifacts: [],
    meta: {
      parent: null,
      batches: [],
      metrics: {},
      labels: ['a', 'b'],
      input: { shape: [2], dtype: 'float32', normalize: { scale: 1, offset: 0 } },
      trainer: {},
      codeVersion: 'x',
    },
  });
  function source() {
    let rollout: RolloutState = {
      model: 'm',
      stable: 'v1',
      canary: 'v2',
      canaryPercent: 50,
      auto: null,
      revision: 1,
      updatedAt: 0,
      phaseStartedAt: 0,
      decidedAt: null,
    };
    const reads = { rollout: 0, version: 0 };
    return {
      reads,
      set(next: Partial<RolloutState>) {
        rollout = { ...rollout, ...next, revision: rollout.revision + 1 };
      },
      rollout: async () => (reads.rollout++, rollout),
      version: async (_m: string, v: string) => (reads.version++, version(v)),
    };
  }

  test('serves every device from memory: one rollout read for many requests', async () => {
    const s = source();
    const cache = new ManifestCache(s, { ttlMs: 60_000, pollAfterSec: 60 });
    const served = await Promise.all(DEVICES.map((d) => cache.assign('m', d)));
    assert.equal(s.reads.rollout, 1);
    assert.equal(s.reads.version, 2);
    for (const [i, m] of served.entries())
      assert.equal(m!.channel, inCanary('m', DEVICES[i]!, 50) ? 'canary' : 'stable');
  });

  test('an invalidation makes the next request see the change', async () => {
    const s = source();
    const cache = new ManifestCache(s, { ttlMs: 60_000, pollAfterSec: 60 });
    assert.ok(await cache.assign('m', 'd'));
    s.set({ stable: 'v2', canary: null, canaryPercent: 0 });
    cache.invalidate('m');
    assert.equal((await cache.assign('m', 'd'))!.version, 'v2');
    assert.equal(s.reads.rollout, 2);
    assert.equal(s.reads.version, 2, 'versions are immutable and never read twice');
  });

  test('an expired entry is served while one refresh reads the change', async () => {
    const s = source();
    const cache = new ManifestCache(s, { ttlMs: 0, pollAfterSec: 60 });
    await cache.assign('m', 'd');
    s.set({ stable: 'v3', canary: null, canaryPercent: 0 });
    const stale = await Promise.all([cache.assign('m', 'd'), cache.assign('m', 'd')]);
    assert.ok(stale.every((m) => m!.version !== 'v3'));
    assert.equal(s.reads.rollout, 2, 'one refresh for concurrent requests');
    await new Promise((r) => setImmediate(r));
    assert.equal((await cache.assign('m', 'd'))!.version, 'v3');
  });
});
