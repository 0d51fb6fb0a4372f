// WebGPU proven once in Chromium on the SwiftShader software adapter (these machines have no GPU): correct
// outputs on both WebGPU engines, and 'auto' prefers WASM over a software adapter, saying so.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startEnv, type Env } from './helpers/env.js';
import { digits } from './helpers/fixture.js';

describe('WebGPU (SwiftShader)', () => {
  let env: Env;
  let page: Page;
  const { x } = digits(5);

  before(async () => {
    env = await startEnv({ webgpu: true });
    await env.publish('v1');
    page = await env.open(await env.context());
  });
  after(() => env?.close());

  test('onnxruntime-web and TF.js on WebGPU give the same probabilities as WASM', async () => {
    const out = await page.evaluate(async ({ opts, x }) => {
      const adapter = await (navigator as unknown as { gpu: { requestAdapter(): Promise<{ info: { architecture: string } } | null> } }).gpu.requestAdapter();
      const res: Record<string, number[][]> = {};
      for (const engine of ['ort-wasm', 'ort-webgpu', 'tfjs-webgpu'] as const) {
        await window.kit.create(engine, { ...opts, engine, pollIntervalMs: 0 });
        const preds = await window.kit.predictAll(engine, x);
        if (preds.some((p) => p.engine !== engine)) throw new Error(`${engine} did not run`);
        res[engine] = preds.map((p) => p.topK.map((t) => t.p));
        await window.kit.dispose(engine);
      }
      return { res, adapter: adapter?.info.architecture ?? null };
    }, { opts: env.options(), x });
    assert.equal(out.adapter, 'swiftshader');
    const wasm = out.res['ort-wasm']!;
    for (const engine of ['ort-webgpu', 'tfjs-webgpu']) {
      out.res[engine]!.forEach((ps, i) => ps.forEach((p, j) => assert.ok(Math.abs(p - wasm[i]![j]!) < 1e-4, `${engine} example ${i}: ${p} vs ${wasm[i]![j]}`)));
    }
  });

  test("'auto' measures WebGPU too, and picks WASM over the software adapter", async () => {
    const status = await page.evaluate(async (opts) => {
      const s = await window.kit.create('auto', { ...opts, engine: 'auto', pollIntervalMs: 0, autoRuns: 3 });
      await window.kit.dispose('auto');
      return s;
    }, env.options());
    const choice = status.engine!;
    assert.ok(choice.measured['ort-webgpu'] !== undefined && choice.measured['tfjs-webgpu'] !== undefined, JSON.stringify(choice));
    assert.match(choice.name, /wasm/);
    assert.match(choice.reason, /swiftshader \(software\)/);
  });
});
