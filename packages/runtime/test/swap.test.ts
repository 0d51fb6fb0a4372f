// Hot swap in real Chromium against a real collector: continuous predictions across 20 swaps, bad versions
// that must never serve, offline start from the cache, canary assignment by bucket, and a device joining the canary.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { inCanary } from '@edgeloop/protocol';
import { MODEL, startEnv, type Env } from './helpers/env.js';
import { digits, nanVariant, variant } from './helpers/fixture.js';
import { waitFor } from './helpers/wait.js';

describe('hot swap', () => {
  let env: Env;
  const { x } = digits(20);

  before(async () => {
    env = await startEnv();
    await env.publish('base');
  });
  after(() => env?.close());
  beforeEach(() => {
    env.server.fault = null;
  });

  async function start(engine: string, extra: Record<string, unknown> = {}, page?: Page): Promise<Page> {
    const p = page ?? (await env.open(await env.context()));
    await p.evaluate((opts) => window.kit.create('rt', opts), env.options({ engine, pollIntervalMs: 0, ...extra }));
    return p;
  }

  for (const [engine, worker] of [
    ['ort-wasm', false],
    ['tfjs-wasm', true],
  ] as const) {
    test(`${engine}${worker ? ' in a worker' : ''}: a version's calibration temperature rescales every confidence (softmax of log p / T)`, async () => {
      const T = 2.5;
      await env.publish(`${engine}-calibrated`, {}, undefined, { output: { temperature: T } });
      await env.rollout({ stable: 'base' });
      const page = await start(engine, { worker });
      const predictAll = () =>
        page.evaluate(async (x) => Promise.all(x.map((input) => window.kit.rts.rt!.predict(input))), x);
      const plain = await predictAll();
      await env.rollout({ stable: `${engine}-calibrated` });
      assert.equal(await page.evaluate(() => window.kit.rts.rt!.update()), true);
      const calibrated = await predictAll();
      for (const [i, p] of plain.entries()) {
        const q = calibrated[i]!;
        assert.equal(q.version, `${engine}-calibrated`);
        assert.deepEqual(
          q.topK.map((t) => t.label),
          p.topK.map((t) => t.label),
          'the same ranking',
        );
        // Tempered probabilities keep the ratios of the plain ones raised to 1/T.
        const [p1, p2] = [p.topK[0]!.p, p.topK[1]!.p];
        const [q1, q2] = [q.topK[0]!.p, q.topK[1]!.p];
        if (p2 > 1e-6)
          assert.ok(
            Math.abs(Math.log(q1 / q2) - Math.log(p1 / p2) / T) < 1e-3,
            `input ${i}: ${p1}/${p2} → ${q1}/${q2}`,
          );
        assert.ok(q.confidence <= p.confidence + 1e-6, 'a temperature above 1 never raises confidence');
      }
      assert.ok(
        calibrated.some((q, i) => q.confidence < plain[i]!.confidence - 0.01),
        'and lowers some',
      );
      await page.context().close();
    });
  }

  for (const engine of ['ort-wasm', 'tfjs-wasm']) {
    test(`${engine}: 20 swaps under continuous predictions, none failed, every old model released`, async () => {
      await env.rollout({ stable: 'base' });
      const page = await start(engine);
      const tensors = () => page.evaluate(async () => (await window.raw.tf()).memory().numTensors);
      const tensorsBefore = engine.startsWith('tfjs') ? await tensors() : 0;
      // A prediction loop runs in the page for the whole test.
      await page.evaluate((x) => {
        const w = window as unknown as {
          loop: { stop: boolean; ok: number; failed: string[]; versions: string[]; done: Promise<void> };
        };
        const loop = { stop: false, ok: 0, failed: [] as string[], versions: [] as string[], done: Promise.resolve() };
        loop.done = (async () => {
          for (let i = 0; !loop.stop; i++) {
            // Like an app predicting per frame or per input event: let the page's other tasks run in between.
            await new Promise((resolve) => setTimeout(resolve, 0));
            try {
              const p = await window.kit.rts.rt!.predict(x[i % x.length]!);
              loop.ok++;
              if (loop.versions.at(-1) !== p.version) loop.versions.push(p.version);
            } catch (err) {
              loop.failed.push(String(err));
            }
          }
        })();
        w.loop = loop;
      }, x);
      const versions: string[] = [];
      for (let i = 1; i <= 20; i++) {
        const version = `${engine}-s${i}`;
        await env.publish(version, variant(i));
        await env.rollout({ stable: version });
        versions.push(version);
        const swapped = await page.evaluate(() => window.kit.rts.rt!.update());
        assert.equal(swapped, true, `no swap to ${version}`);
      }
      const result = await page.evaluate(async () => {
        const w = window as unknown as {
          loop: { stop: boolean; ok: number; failed: string[]; versions: string[]; done: Promise<void> };
        };
        w.loop.stop = true;
        await w.loop.done;
        return {
          ok: w.loop.ok,
          failed: w.loop.failed,
          versions: w.loop.versions,
          status: window.kit.rts.rt!.status(),
          swaps: window.kit.swaps.rt!,
        };
      });
      assert.deepEqual(result.failed, []);
      assert.ok(result.ok > 20);
      assert.equal(result.status.swaps, 20);
      assert.equal(result.status.version, versions.at(-1));
      assert.deepEqual(
        result.swaps.map((s) => s.to),
        versions,
      );
      // Predictions saw the versions in publication order, never an older one after a newer one.
      const order = ['base', ...versions];
      const seen = result.versions.map((v) => order.indexOf(v));
      assert.deepEqual(
        seen,
        [...seen].sort((a, b) => a - b),
      );
      assert.deepEqual(result.status.sessions, { loaded: 21, released: 20 });
      if (engine.startsWith('tfjs')) {
        assert.equal(await tensors(), tensorsBefore, 'TF.js tensors leaked across swaps');
      }
      await page.evaluate(() => window.kit.dispose('rt'));
    });
  }

  test('the manifest is polled with its ETag: no change, no download', async () => {
    await env.rollout({ stable: 'base' });
    const page = await start('ort-wasm');
    const seen = env.server.seen.length;
    assert.equal(await page.evaluate(() => window.kit.rts.rt!.update()), false);
    const polls = env.server.seen.slice(seen).filter((r) => r.path.endsWith('/manifest'));
    assert.equal(polls.length, 1);
    assert.ok(polls[0]!.headers['if-none-match'], 'no If-None-Match sent');
    assert.equal(polls[0]!.outcome, '304');
  });

  for (const bad of ['corrupted artifact', 'NaN-producing model', '404 artifact'] as const) {
    test(`a ${bad} leaves the old model serving and reports an error`, async () => {
      await env.rollout({ stable: 'base' });
      const page = await start('ort-wasm');
      const version = `bad-${bad.split(' ')[0]!.toLowerCase()}`;
      const { sha } = await env.publish(
        version,
        bad === 'NaN-producing model' ? nanVariant() : variant(100 + bad.length),
      );
      if (bad === 'corrupted artifact') env.breakArtifact(sha['model.onnx']!, 'corrupt');
      if (bad === '404 artifact') env.breakArtifact(sha['model.onnx']!, 'delete');
      await env.rollout({ stable: version });
      const errorsBefore = await env.eventCount('error');
      const res = await page.evaluate(async (x) => {
        const rt = window.kit.rts.rt!;
        const swapped = await rt.update();
        const p = await rt.predict(x);
        await rt.flush();
        return { swapped, version: p.version, status: rt.status(), errors: window.kit.errors.rt! };
      }, x[0]!);
      assert.equal(res.swapped, false);
      assert.equal(res.version, 'base');
      assert.equal(res.status.version, 'base');
      const code = {
        'corrupted artifact': 'EL_RT_ARTIFACT_SHA',
        'NaN-producing model': 'EL_RT_PROBE_FAILED',
        '404 artifact': 'EL_RT_ARTIFACT_FETCH',
      }[bad];
      assert.deepEqual(
        res.errors.map((e) => [e.code, e.version]),
        [[code, version]],
      );
      // The collector hears about it too (its canary analysis counts errors per version).
      await waitFor('the error event', async () => (await env.eventCount('error')) > errorsBefore);
      // The failed session was released, and nothing else was loaded.
      assert.deepEqual(res.status.sessions, { loaded: 1, released: 0 });
    });
  }

  test('offline, a new start runs the last good model from the cache', async () => {
    await env.rollout({ stable: 'base' });
    const context = await env.context();
    const first = await env.open(context);
    await start('ort-wasm', {}, first);
    await first.close();
    env.server.fault = (r) => (r.path.startsWith('/v1/') ? { kind: 'reset' } : undefined);
    const page = await start('ort-wasm', {}, await env.open(context));
    const res = await page.evaluate(async (x) => {
      const p = await window.kit.rts.rt!.predict(x);
      return { version: p.version, status: window.kit.rts.rt!.status() };
    }, x[0]!);
    assert.equal(res.version, 'base');
    assert.equal(res.status.source, 'cache');
    // And a device that never loaded a model cannot start offline: it says why.
    const fresh = await env.open(await env.context());
    const code = await fresh.evaluate(
      (opts) =>
        window.edgeloop.createRuntime(opts).then(
          () => 'started',
          (e) => (e as { code: string }).code,
        ),
      env.options({ engine: 'ort-wasm', pollIntervalMs: 0 }),
    );
    assert.equal(code, 'EL_RT_NO_MODEL');
  });

  test('canary: devices in the bucket get the canary, and raising the percent only adds devices', async () => {
    await env.publish('canary-1', variant(200));
    await env.rollout({ stable: 'base', canary: 'canary-1', canaryPercent: 30 });
    const devices = Array.from({ length: 16 }, (_, i) => `device-${i}`);
    assert.ok(
      devices.some((d) => inCanary(MODEL, d, 30)) &&
        devices.some((d) => inCanary(MODEL, d, 60) && !inCanary(MODEL, d, 30)),
    );
    const page = await env.open(await env.context());
    const channels = async () =>
      page.evaluate(async (devices) => {
        const out: Record<string, string> = {};
        for (const d of devices) out[d] = window.kit.rts[d]!.status().version!;
        return out;
      }, devices);
    await page.evaluate(
      async ({ opts, devices }) => {
        for (const d of devices) await window.kit.create(d, { ...opts, deviceId: d });
      },
      { opts: env.options({ engine: 'ort-wasm', pollIntervalMs: 0 }), devices },
    );
    const at30 = await channels();
    for (const d of devices) assert.equal(at30[d], inCanary(MODEL, d, 30) ? 'canary-1' : 'base', d);
    await env.rollout({ stable: 'base', canary: 'canary-1', canaryPercent: 60 });
    await page.evaluate(async (devices) => {
      for (const d of devices) await window.kit.rts[d]!.update();
    }, devices);
    const at60 = await channels();
    for (const d of devices) {
      assert.equal(at60[d], inCanary(MODEL, d, 60) ? 'canary-1' : 'base', d);
      if (at30[d] === 'canary-1') assert.equal(at60[d], 'canary-1', `${d} left the canary when the percent went up`);
    }
    const statuses = await page.evaluate((devices) => devices.map((d) => window.kit.rts[d]!.status().channel), devices);
    assert.deepEqual(
      statuses,
      devices.map((d) => (inCanary(MODEL, d, 60) ? 'canary' : 'stable')),
    );
  });

  for (const [engine, worker] of [
    ['ort-wasm', false],
    ['tfjs-wasm', true],
  ] as const) {
    test(`joinCanary${worker ? ' in a worker' : ''}: a device outside the bucket asks for the canary and hot-swaps to it, remembered for that device across restarts; leaving puts it back by bucket`, async () => {
      const canary = `joined-${engine}`;
      await env.publish(canary, variant(worker ? 301 : 300));
      // At 0 % no bucket gets the canary: only a device that asks for it.
      await env.rollout({ stable: 'base', canary, canaryPercent: 0 });
      const device = `joiner-${engine}`;
      const page = await start(engine, { worker, deviceId: device });
      const status = () => page.evaluate(() => window.kit.rts.rt!.status());
      assert.deepEqual(await status().then((s) => [s.version, s.channel, s.joinedCanary]), ['base', 'stable', false]);

      assert.equal(await page.evaluate(() => window.kit.rts.rt!.joinCanary(true)), true, 'a new model serves');
      assert.deepEqual(await status().then((s) => [s.version, s.channel, s.joinedCanary]), [canary, 'canary', true]);
      const p = await page.evaluate((x) => window.kit.rts.rt!.predict(x), x[0]!);
      assert.deepEqual([p.version, p.channel], [canary, 'canary'], 'the canary serves the next prediction');
      const swaps = await page.evaluate(() => window.kit.swaps.rt!);
      assert.deepEqual(
        swaps.map((e) => [e.from, e.to, e.channel]),
        [['base', canary, 'canary']],
        'hot-swapped, no reload',
      );

      // Remembered on this device: a new start (same IndexedDB) asks for the canary again; another device does not.
      await page.evaluate(() => window.kit.dispose('rt'));
      const opts = env.options({ engine, worker, pollIntervalMs: 0 });
      const again = await page.evaluate((o) => window.kit.create('rt', o), { ...opts, deviceId: device });
      assert.deepEqual([again.version, again.channel, again.joinedCanary], [canary, 'canary', true]);
      const other = await page.evaluate((o) => window.kit.create('other', o), { ...opts, deviceId: `${device}-2` });
      assert.deepEqual([other.version, other.joinedCanary], ['base', false]);

      assert.equal(await page.evaluate(() => window.kit.rts.rt!.joinCanary(false)), true);
      assert.deepEqual(await status().then((s) => [s.version, s.channel, s.joinedCanary]), ['base', 'stable', false]);
      await page.evaluate(() => window.kit.dispose('rt'));
      const left = await page.evaluate((o) => window.kit.create('rt', o), { ...opts, deviceId: device });
      assert.deepEqual([left.version, left.joinedCanary], ['base', false], 'leaving is remembered too');
      const disposed = await page.evaluate(async () => {
        const rt = window.kit.rts.rt!;
        await window.kit.dispose('rt');
        return rt.joinCanary(true).then(
          () => 'resolved',
          (e: { code: string }) => e.code,
        );
      });
      assert.equal(disposed, 'EL_RT_DISPOSED');
      await page.close();
    });
  }
});
