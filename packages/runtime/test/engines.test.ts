// Engines in real Chromium on the real digits model: onnxruntime-web and TF.js agree, auto picks and explains,
// the worker runs inference off the page's thread.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startEnv, type Env } from './helpers/env.js';
import { digits } from './helpers/fixture.js';

describe('engines', () => {
  let env: Env;
  let page: Page;
  const { x, y } = digits(40);

  before(async () => {
    env = await startEnv();
    await env.publish('v1');
    page = await env.open(await env.context());
  });
  after(() => env?.close());

  test('onnxruntime-web (WASM) and TF.js (WASM, CPU) give the same answers on real digits', async () => {
    const out = await page.evaluate(
      async ({ opts, x }) => {
        const res: Record<string, { labels: string[]; probs: number[][]; engine: string; version: string | null }> = {};
        for (const engine of ['ort-wasm', 'tfjs-wasm', 'tfjs-cpu'] as const) {
          await window.kit.create(engine, { ...opts, engine, pollIntervalMs: 0 });
          const preds = await window.kit.predictAll(engine, x);
          res[engine] = {
            labels: preds.map((p) => p.label),
            probs: preds.map((p) => p.topK.map((t) => t.p)),
            engine: preds[0]!.engine,
            version: window.kit.rts[engine]!.status().version,
          };
          await window.kit.dispose(engine);
        }
        return res;
      },
      { opts: env.options(), x },
    );
    const ort = out['ort-wasm']!;
    for (const name of ['tfjs-wasm', 'tfjs-cpu']) {
      const other = out[name]!;
      assert.equal(other.engine, name);
      assert.deepEqual(other.labels, ort.labels, `${name} labels differ from ort-wasm`);
      other.probs.forEach((ps, i) =>
        ps.forEach((p, j) =>
          assert.ok(Math.abs(p - ort.probs[i]![j]!) < 1e-4, `${name} example ${i}: ${p} vs ${ort.probs[i]![j]}`),
        ),
      );
    }
    assert.equal(ort.version, 'v1');
    const correct = ort.labels.filter((l, i) => l === y[i]).length;
    assert.ok(correct / y.length > 0.3, `accuracy ${correct}/${y.length} is no better than chance`);
  });

  test("engine 'auto' measures the candidates, runs the fastest and says why", async () => {
    const status = await page.evaluate(async (opts) => {
      const s = await window.kit.create('auto', { ...opts, engine: 'auto', pollIntervalMs: 0 });
      await window.kit.dispose('auto');
      return s;
    }, env.options());
    const choice = status.engine!;
    const measured = Object.entries(choice.measured) as [string, number][];
    assert.ok(measured.length >= 3, `measured only ${JSON.stringify(choice.measured)}`);
    const fastest = measured.reduce((a, b) => (b[1] < a[1] ? b : a));
    assert.equal(choice.name, fastest[0]);
    assert.match(choice.reason, /^auto: fastest/);
    // No GPU in this browser: both WebGPU engines are skipped with the reason.
    assert.match(choice.skipped['ort-webgpu'] ?? '', /WebGPU/);
    assert.match(choice.skipped['tfjs-webgpu'] ?? '', /WebGPU/);
  });

  test('worker: true predicts the same, and the engine never loads on the page thread', async () => {
    const fresh = await env.open(await env.context());
    const res = await fresh.evaluate(
      async ({ opts, x }) => {
        await window.kit.create('w', { ...opts, engine: 'ort-wasm', worker: true, pollIntervalMs: 0 });
        const preds = await window.kit.predictAll('w', x);
        const status = window.kit.rts.w!.status();
        const wasmOnPage = performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.wasm')).length;
        await window.kit.dispose('w');
        return { labels: preds.map((p) => p.label), status, wasmOnPage };
      },
      { opts: env.options(), x: x.slice(0, 10) },
    );
    const local = await page.evaluate(
      async ({ opts, x }) => {
        await window.kit.create('l', { ...opts, engine: 'ort-wasm', pollIntervalMs: 0 });
        const preds = await window.kit.predictAll('l', x);
        await window.kit.dispose('l');
        return preds.map((p) => p.label);
      },
      { opts: env.options(), x: x.slice(0, 10) },
    );
    assert.deepEqual(res.labels, local);
    assert.equal(res.status.worker, true);
    assert.equal(res.status.engine?.name, 'ort-wasm');
    assert.equal(res.status.predictions, 10);
    assert.equal(res.wasmOnPage, 0, 'the page thread fetched an engine binary');
  });

  test("onnxruntime-web runs go to the session's handler (no per-call checks); queued runs answer in call order; an engine failure is reported and frees the session", async () => {
    const res = await page.evaluate(
      async ({ opts, x }) => {
        const ort = await window.raw.ortWasm();
        const headers = { authorization: `Bearer ${opts.key}` };
        const manifest = await (await fetch(`/v1/models/digits/manifest?device=handler-test`, { headers })).json();
        const onnx = manifest.artifacts.find((a: { name: string }) => a.name === 'model.onnx');
        const bytes = await (await fetch(onnx.url, { headers })).arrayBuffer();
        // The runtime and this page share one onnxruntime-web module: its classes are the runtime's.
        await window.kit.create('h', { ...opts, engine: 'ort-wasm', pollIntervalMs: 0 });
        const rt = window.kit.rts.h!;
        const probe = await ort.InferenceSession.create(new Uint8Array(bytes), { executionProviders: ['wasm'] });
        const handlerProto = Object.getPrototypeOf((probe as unknown as { handler: object }).handler) as {
          run: (...a: unknown[]) => Promise<unknown>;
        };
        const sessionProto = (
          ort.InferenceSession as unknown as { prototype: { run: (...a: unknown[]) => Promise<unknown> } }
        ).prototype;
        const handlerRun = handlerProto.run;
        const sessionRun = sessionProto.run;
        const calls = { handler: 0, session: 0 };
        handlerProto.run = function (...a) {
          calls.handler++;
          return handlerRun.apply(this, a);
        };
        sessionProto.run = function (...a) {
          calls.session++;
          return sessionRun.apply(this, a);
        };
        // Five predictions at once: one runs, four wait their turn.
        const queued = await Promise.all(x.map((v) => rt.predict(v)));
        const oneByOne: string[] = [];
        for (const v of x) oneByOne.push((await rt.predict(v)).label);
        handlerProto.run = () => Promise.reject(new Error('engine fault'));
        const failed = await rt.predict(x[0]!).then(
          () => null,
          (err: { code: string }) => err.code,
        );
        handlerProto.run = handlerRun;
        sessionProto.run = sessionRun;
        const after = (await rt.predict(x[0]!)).label;
        const errors = window.kit.errors.h!.map((e) => e.code);
        await window.kit.dispose('h');
        await probe.release();
        return { calls, queued: queued.map((p) => p.label), oneByOne, failed, after, errors };
      },
      { opts: env.options(), x: x.slice(0, 5) },
    );
    assert.deepEqual(res.calls, { handler: 10, session: 0 });
    assert.deepEqual(res.queued, res.oneByOne);
    assert.equal(res.failed, 'EL_RT_ENGINE_RUN');
    assert.deepEqual(res.errors, ['EL_RT_ENGINE_RUN']);
    assert.equal(res.after, res.oneByOne[0]);
  });

  test('bad input and bad options fail with stable codes', async () => {
    const codes = await page.evaluate(async (opts) => {
      const out: string[] = [];
      try {
        await window.edgeloop.createRuntime({ ...opts, engine: 'nope' as never });
      } catch (err) {
        out.push((err as { code: string }).code);
      }
      await window.kit.create('b', { ...opts, engine: 'ort-wasm', pollIntervalMs: 0 });
      try {
        await window.kit.rts.b!.predict([1, 2, 3]);
      } catch (err) {
        out.push((err as { code: string }).code);
      }
      try {
        await window.kit.rts.b!.reportWrongResult('0190a4c2-0000-7000-8000-000000000000', 'eleven');
      } catch (err) {
        out.push((err as { code: string }).code);
      }
      await window.kit.dispose('b');
      return out;
    }, env.options());
    assert.deepEqual(codes, ['EL_RT_INVALID_OPTIONS', 'EL_RT_BAD_INPUT', 'EL_RT_UNKNOWN_LABEL']);
  });

  test('worker: true rejects with RuntimeErrors that keep their code across the worker boundary', async () => {
    const fresh = await env.open(await env.context());
    const res = await fresh.evaluate(async (opts) => {
      const out: { code: string; runtimeError: boolean }[] = [];
      const seen = (err: unknown) =>
        out.push({ code: (err as { code: string }).code, runtimeError: err instanceof window.edgeloop.RuntimeError });
      // Nothing cached in this context and no collector: the worker's start fails with EL_RT_NO_MODEL.
      await window.edgeloop
        .createRuntime({
          ...opts,
          collector: 'http://127.0.0.1:9',
          worker: true,
          engine: 'ort-wasm',
          pollIntervalMs: 0,
        })
        .catch(seen);
      await window.kit.create('wc', { ...opts, engine: 'ort-wasm', worker: true, pollIntervalMs: 0 });
      await window.kit.rts.wc!.predict([1, 2, 3]).catch(seen);
      await window.kit.rts.wc!.reportWrongResult('0190a4c2-0000-7000-8000-000000000000', 'eleven').catch(seen);
      await window.kit.dispose('wc');
      return out;
    }, env.options());
    await fresh.close();
    assert.deepEqual(res, [
      { code: 'EL_RT_NO_MODEL', runtimeError: true },
      { code: 'EL_RT_BAD_INPUT', runtimeError: true },
      { code: 'EL_RT_UNKNOWN_LABEL', runtimeError: true },
    ]);
  });
});
