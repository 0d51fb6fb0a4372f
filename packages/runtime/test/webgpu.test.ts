// WebGPU proven once in Chromium on the SwiftShader software adapter (these machines have no GPU): correct
// outputs on both WebGPU engines, 'auto' prefers WASM over a software adapter, saying so, and hot swaps on
// WebGPU give back every old model's GPU buffers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startEnv, type Env } from './helpers/env.js';
import { digits, variant } from './helpers/fixture.js';

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
    const out = await page.evaluate(
      async ({ opts, x }) => {
        const adapter = await (
          navigator as unknown as { gpu: { requestAdapter(): Promise<{ info: { architecture: string } } | null> } }
        ).gpu.requestAdapter();
        const res: Record<string, number[][]> = {};
        for (const engine of ['ort-wasm', 'ort-webgpu', 'tfjs-webgpu'] as const) {
          await window.kit.create(engine, { ...opts, engine, pollIntervalMs: 0 });
          const preds = await window.kit.predictAll(engine, x);
          if (preds.some((p) => p.engine !== engine)) throw new Error(`${engine} did not run`);
          res[engine] = preds.map((p) => p.topK.map((t) => t.p));
          await window.kit.dispose(engine);
        }
        return { res, adapter: adapter?.info.architecture ?? null };
      },
      { opts: env.options(), x },
    );
    assert.equal(out.adapter, 'swiftshader');
    const wasm = out.res['ort-wasm']!;
    for (const engine of ['ort-webgpu', 'tfjs-webgpu']) {
      out.res[engine]!.forEach((ps, i) =>
        ps.forEach((p, j) =>
          assert.ok(Math.abs(p - wasm[i]![j]!) < 1e-4, `${engine} example ${i}: ${p} vs ${wasm[i]![j]}`),
        ),
      );
    }
  });

  for (const engine of ['ort-webgpu', 'tfjs-webgpu'] as const) {
    test(`${engine}: 20 hot swaps leave no GPU buffers behind`, async () => {
      const context = await env.context();
      // Before any page script: count the GPU buffers alive in the page (created, not yet destroyed).
      await context.addInitScript(() => {
        const live = new Set<GPUBuffer>();
        const create = GPUDevice.prototype.createBuffer;
        GPUDevice.prototype.createBuffer = function (this: GPUDevice, d: GPUBufferDescriptor) {
          const b = create.call(this, d);
          live.add(b);
          return b;
        };
        const destroy = GPUBuffer.prototype.destroy;
        GPUBuffer.prototype.destroy = function (this: GPUBuffer) {
          live.delete(this);
          return destroy.call(this);
        };
        (window as unknown as { gpuLive: () => { buffers: number; bytes: number } }).gpuLive = () => ({
          buffers: live.size,
          bytes: [...live].reduce((n, b) => n + b.size, 0),
        });
      });
      const gpuPage = await env.open(context);
      await gpuPage.evaluate((opts) => window.kit.create('g', opts), env.options({ engine, pollIntervalMs: 0 }));
      const live: { buffers: number; bytes: number }[] = [];
      for (let i = 1; i <= 20; i++) {
        const version = `${engine}-g${i}`;
        await env.publish(version, variant(100 + i));
        await env.rollout({ stable: version });
        const res = await gpuPage.evaluate(async (x) => {
          const rt = window.kit.rts.g!;
          const swapped = await rt.update();
          const p = await rt.predict(x);
          // The old session is released in a task after the swap.
          await new Promise((r) => setTimeout(r, 50));
          return {
            swapped,
            version: p.version,
            engine: p.engine,
            live: (window as unknown as { gpuLive: () => { buffers: number; bytes: number } }).gpuLive(),
          };
        }, x[0]!);
        assert.deepEqual([res.swapped, res.version, res.engine], [true, version, engine]);
        live.push(res.live);
      }
      const status = await gpuPage.evaluate(() => window.kit.rts.g!.status());
      assert.deepEqual(status.sessions, { loaded: 21, released: 20 });
      // Each version's weights live in GPU buffers: a session not released would add its own every swap.
      const [first] = live;
      assert.ok(
        live.every((l) => l.buffers <= first!.buffers && l.bytes <= first!.bytes),
        `GPU buffers alive after each swap: ${JSON.stringify(live)}`,
      );
      await gpuPage.evaluate(() => window.kit.dispose('g'));
      await gpuPage.close();
    });
  }

  test("'auto' measures WebGPU too, and picks WASM over the software adapter", async () => {
    const status = await page.evaluate(async (opts) => {
      const s = await window.kit.create('auto', { ...opts, engine: 'auto', pollIntervalMs: 0, autoRuns: 3 });
      await window.kit.dispose('auto');
      return s;
    }, env.options());
    const choice = status.engine!;
    assert.ok(
      choice.measured['ort-webgpu'] !== undefined && choice.measured['tfjs-webgpu'] !== undefined,
      JSON.stringify(choice),
    );
    assert.match(choice.name, /wasm/);
    assert.match(choice.reason, /swiftshader \(software\)/);
  });
});
