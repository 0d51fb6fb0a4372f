// Bring your own model: ONNX models made by PyTorch with other conventions (channels first, logits, a multi-label
// sigmoid head, uint8 input, Gemm and MatMul heads, opsets 8, 13 and 17), and a TF.js model that takes channels
// first, are published to a real collector and served by the runtime in real Chromium, on the page and in its
// worker. The app passes what it always did (channels-last pixels); the predictions equal onnxruntime-web's (and
// TF.js's) in Node on the tensors NumPy made from the same inputs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { Prediction, RuntimeOptions } from '@edgeloop/runtime';
import { startEnv, type Env } from './helpers/env.js';
import {
  foreignModels,
  ortInNode,
  referenceProbabilities,
  tfjsChannelsFirst,
  type ForeignCase,
} from './helpers/foreign.js';

const TOLERANCE = 1e-5;

/** Every prediction scores what the reference scores: its label's and its top-k probabilities, and the ranking. */
function assertSame(preds: Prediction[], expected: number[][], labels: string[], what: string): void {
  assert.equal(preds.length, expected.length);
  preds.forEach((p, i) => {
    const want = expected[i]!;
    for (const t of p.topK) {
      const j = labels.indexOf(t.label);
      assert.ok(Math.abs(t.p - want[j]!) < TOLERANCE, `${what}, input ${i}, label ${t.label}: ${t.p} vs ${want[j]}`);
    }
    const floor = Math.min(...p.topK.map((t) => t.p));
    want.forEach((q, j) => {
      if (!p.topK.some((t) => t.label === labels[j]))
        assert.ok(q <= floor + TOLERANCE, `${what}, input ${i}: ${labels[j]} (${q}) is missing from the top k`);
    });
    assert.ok(
      Math.abs(Math.max(...want) - want[labels.indexOf(p.label)]!) < TOLERANCE,
      `${what}, input ${i}: label ${p.label}`,
    );
  });
}

describe('models this project did not make (PyTorch ONNX)', () => {
  let env: Env;
  let cases: ForeignCase[];
  const reference = new Map<string, number[][]>();

  before(async () => {
    cases = foreignModels();
    env = await startEnv();
    for (const c of cases) {
      const outputs = await ortInNode(c.onnx, c);
      reference.set(
        c.name,
        outputs.map((o) => referenceProbabilities(o, c.output)),
      );
      await env.publishModel(
        c.name,
        { version: 'v1', labels: c.labels, input: c.input, ...(c.output ? { output: c.output } : {}) },
        [{ format: 'onnx', name: 'model.onnx', bytes: c.onnx }],
      );
    }
  });
  after(() => env?.close());

  /**
   * Starts a runtime for `model` in a fresh context, predicts every raw input (bytes as a Uint8Array), reports the
   * first prediction wrong with each of `reports` (a label or a label set; `reported`: "ok" or the error's code),
   * disposes.
   */
  async function serve(
    model: string,
    raw: number[][],
    extra: Record<string, unknown>,
    bytes: boolean,
    reports: (string | string[])[] = [],
  ): Promise<{ preds: Prediction[]; engine: string | undefined; worker: boolean; reported: string[] }> {
    const page: Page = await env.open(await env.context());
    try {
      return await page.evaluate(
        async ({ opts, raw, bytes, reports }) => {
          await window.kit.create('rt', opts);
          const rt = window.kit.rts.rt!;
          const preds: Prediction[] = [];
          for (const x of raw) preds.push(await rt.predict(bytes ? Uint8Array.from(x) : Float32Array.from(x)));
          const reported: string[] = [];
          for (const r of reports) {
            await rt.reportWrongResult(preds[0]!.id, r).then(
              () => reported.push('ok'),
              (e: { code?: string }) => reported.push(e.code ?? String(e)),
            );
          }
          // What was kept reaches the collector before this resolves.
          await rt.flush();
          const status = rt.status();
          await window.kit.dispose('rt');
          return { preds, engine: status.engine?.name, worker: status.worker, reported };
        },
        { opts: env.options({ model, pollIntervalMs: 0, ...extra }), raw, bytes, reports },
      );
    } finally {
      await page.context().close();
    }
  }

  for (const name of ['nchw-gemm-logits', 'nchw-matmul-sigmoid', 'uint8-nchw-softmax']) {
    for (const worker of [false, true]) {
      test(`${name}${worker ? ' in a worker' : ' on the page'}: predictions equal onnxruntime-web's in Node on the same inputs`, async () => {
        const c = cases.find((x) => x.name === name)!;
        assert.ok([8, 13, 17].includes(c.opset), `opset ${c.opset}`);
        const multi = c.output?.kind === 'sigmoid';
        // reportWrongResult takes the labels that apply for a multi-label model, one label for the others.
        const reports = multi ? [[c.labels[1]!, c.labels[0]!], c.labels[0]!] : [[c.labels[0]!]];
        const {
          preds,
          engine,
          worker: inWorker,
          reported,
        } = await serve(name, c.raw, { engine: 'ort-wasm', worker }, c.input.dtype === 'uint8', reports);
        assert.deepEqual(reported, multi ? ['ok', 'EL_RT_LABEL_KIND'] : ['EL_RT_LABEL_KIND']);
        if (multi) {
          const { counts } = await env.collector.storage.batches.preview(name, { maxLabelsPerDevice: 50 });
          assert.ok(
            (counts.byLabel[c.labels[0]!] ?? 0) >= 1 && (counts.byLabel[c.labels[1]!] ?? 0) >= 1,
            `the reported label set reached the collector: ${JSON.stringify(counts)}`,
          );
        }
        assert.equal(engine, 'ort-wasm');
        assert.equal(inWorker, worker);
        assertSame(preds, reference.get(name)!, c.labels, name);
        if (c.output?.kind === 'sigmoid') {
          // Multi-label: every label over 0.5, and the least certain decision as the confidence.
          preds.forEach((p, i) => {
            const want = reference.get(name)![i]!;
            assert.deepEqual(
              p.labels,
              c.labels.filter((_, j) => want[j]! >= 0.5),
            );
            assert.ok(Math.abs(p.confidence - Math.min(...want.map((q) => Math.max(q, 1 - q)))) < TOLERANCE);
          });
        } else preds.forEach((p) => assert.equal(p.labels, undefined));
        // The collector keeps what the app passed (channels last, its dtype), not what the model was fed.
        const low = preds.filter((p) => p.confidence < 0.6);
        assert.ok(low.length > 0, 'some predictions are low-confidence');
        for (const p of low) {
          const e = await env.collector.storage.events.get(p.id);
          assert.ok(e?.type === 'prediction' && e.input, `prediction ${p.id} was kept with its input`);
          const i = preds.indexOf(p);
          const sent =
            c.input.dtype === 'uint8'
              ? Buffer.from(Uint8Array.from(c.raw[i]!))
              : Buffer.from(Float32Array.from(c.raw[i]!).buffer);
          assert.deepEqual({ shape: e.input.shape, dtype: e.input.dtype }, { shape: [8, 8, 3], dtype: c.input.dtype });
          assert.ok(Buffer.from(e.input.data, 'base64').equals(sent));
          // A multi-label prediction carries its predicted set, which the trainer learns as accepted when no one
          // reports it wrong; a single-label one carries none.
          assert.deepEqual(e.output.labels, multi ? p.labels : undefined);
        }
      });
    }
  }

  for (const worker of [false, true]) {
    test(`overlapping predictions${worker ? ' in a worker' : ' on the page'} each get their own transposed, normalised input`, async () => {
      const c = cases.find((x) => x.name === 'nchw-gemm-logits')!;
      const page: Page = await env.open(await env.context());
      try {
        // Every prediction is started before the first settles: they queue for the session, each holding its input.
        const preds = await page.evaluate(
          async ({ opts, raw }) => {
            await window.kit.create('rt', opts);
            const rt = window.kit.rts.rt!;
            const all = [];
            for (let round = 0; round < 3; round++)
              all.push(...(await Promise.all(raw.map((x) => rt.predict(Float32Array.from(x))))));
            await window.kit.dispose('rt');
            return all;
          },
          { opts: env.options({ model: c.name, pollIntervalMs: 0, engine: 'ort-wasm', worker }), raw: c.raw },
        );
        const want = reference.get(c.name)!;
        assertSame(preds, [...want, ...want, ...want], c.labels, `overlapping${worker ? ' (worker)' : ''}`);
      } finally {
        await page.context().close();
      }
    });
  }

  test('the ops and opsets the cases cover', () => {
    assert.deepEqual(
      cases.map((c) => c.opset).sort((a, b) => a - b),
      [8, 13, 17],
    );
    const ops = new Set(cases.flatMap((c) => c.ops));
    for (const op of ['Conv', 'Gemm', 'MatMul', 'Cast', 'Softmax']) assert.ok(ops.has(op), `no case uses ${op}`);
    assert.ok(cases.some((c) => c.input.dtype === 'uint8') && cases.every((c) => c.input.layout === 'nchw'));
  });

  for (const worker of [false, true]) {
    test(`TF.js${worker ? ' in a worker' : ' on the page'}: a channels-first Layers model gets the same transposed, normalised input`, async () => {
      const c = cases.find((x) => x.name === 'nchw-gemm-logits')!;
      const model = `tfjs-nchw-${worker ? 'worker' : 'page'}`;
      const tfjs = await tfjsChannelsFirst(c);
      await env.publishModel(model, { version: 'v1', labels: c.labels, input: c.input, output: c.output }, tfjs.files);
      const { preds, engine } = await serve(model, c.raw, { engine: 'tfjs-wasm', worker }, false);
      assert.equal(engine, 'tfjs-wasm');
      // TF.js's WASM kernels sum in another order than its CPU kernels in Node.
      assertSame(
        preds,
        tfjs.outputs.map((o) => referenceProbabilities(o, c.output)),
        c.labels,
        'tfjs',
      );
    });
  }

  test("engineModules: an app's engine module runs in the worker (and on the page), where registerEngine on the page cannot reach", async () => {
    const c = cases.find((x) => x.name === 'nchw-gemm-logits')!;
    for (const worker of [true, false]) {
      const { preds, engine } = await serve(
        c.name,
        c.raw,
        { engine: 'app-ort', engineModules: ['/engine.js'], worker },
        false,
      );
      assert.equal(engine, 'app-ort', worker ? 'in the worker' : 'on the page');
      assertSame(preds, reference.get(c.name)!, c.labels, `app-ort ${worker ? 'worker' : 'page'}`);
    }
    // An engine registered on the page only: the worker says where to name it.
    const page = await env.open(await env.context());
    const err = await page.evaluate(
      async (opts) => {
        const ort = window.edgeloop.listEngines().find((e) => e.name === 'ort-wasm')!;
        window.edgeloop.registerEngine({ ...ort, name: 'page-only' });
        return window.edgeloop.createRuntime({ ...opts, engine: 'page-only', worker: true }).then(
          () => null,
          (e: { code: string; message: string }) => ({ code: e.code, message: e.message }),
        );
      },
      env.options({ model: c.name, pollIntervalMs: 0 }),
    );
    await page.context().close();
    assert.equal(err?.code, 'EL_RT_INVALID_OPTIONS');
    assert.match(err!.message, /unknown engine "page-only" in the worker \(see engineModules\)/);
  });

  describe('errors that name the real cause', () => {
    const attempt = (page: Page, opts: RuntimeOptions) =>
      page.evaluate(
        (o) =>
          window.edgeloop.createRuntime(o).then(
            async (rt) => {
              await rt.dispose();
              return null;
            },
            (e: { code: string; message: string }) => ({ code: e.code, message: e.message }),
          ),
        opts,
      );

    for (const worker of [false, true]) {
      test(`a first model that fails its probe rejects createRuntime with EL_RT_PROBE_FAILED and the reason${worker ? ' (worker)' : ''}`, async () => {
        const c = cases.find((x) => x.name === 'nchw-gemm-logits')!;
        const model = `logits-unsaid-${worker ? 'w' : 'p'}`;
        // Published as it is, without saying it outputs logits.
        await env.publishModel(model, { version: 'v1', labels: c.labels, input: c.input }, [
          { format: 'onnx', name: 'model.onnx', bytes: c.onnx },
        ]);
        const page = await env.open(await env.context());
        const err = await attempt(page, env.options({ model, engine: 'ort-wasm', worker, pollIntervalMs: 0 }));
        await page.context().close();
        assert.equal(err?.code, 'EL_RT_PROBE_FAILED');
        assert.match(err!.message, /^Model v1 failed its probe check: (outputs sum to|output \d+ is)/);
        assert.match(err!.message, /publish it with meta\.output\.kind "logits"/);
        assert.doesNotMatch(err!.message, /unreachable|Install/);
      });
    }

    test('a channels-first model published without its layout is refused at load with EL_RT_BAD_INPUT naming both shapes, and no install hint', async () => {
      const c = cases.find((x) => x.name === 'nchw-gemm-logits')!;
      const { layout: _layout, ...nhwc } = c.input;
      await env.publishModel('layout-unsaid', { version: 'v1', labels: c.labels, input: nhwc, output: c.output }, [
        { format: 'onnx', name: 'model.onnx', bytes: c.onnx },
      ]);
      const page = await env.open(await env.context());
      const errs = [];
      for (const engine of ['ort-wasm', 'auto'])
        errs.push(await attempt(page, env.options({ model: 'layout-unsaid', engine, pollIntervalMs: 0 })));
      await page.context().close();
      for (const err of errs) {
        assert.equal(err?.code, 'EL_RT_BAD_INPUT');
        assert.match(
          err!.message,
          /the model's input "pixels" takes \[batch, 3, 8, 8\], the runtime feeds \[1, 8, 8, 3\]/,
        );
        assert.match(err!.message, /meta\.input\.layout "nchw"/);
        assert.doesNotMatch(err!.message, /Install/);
      }
    });

    for (const worker of [false, true]) {
      test(`an input that does not match the manifest gets EL_RT_BAD_INPUT naming the expected and actual shape${worker ? ' (worker)' : ''}`, async () => {
        const page = await env.open(await env.context());
        const err = await page.evaluate(
          async (opts) => {
            await window.kit.create('rt', opts);
            const e = await window.kit.rts.rt!.predict([1, 2, 3]).then(
              () => null,
              (x: { code: string; message: string }) => ({ code: x.code, message: x.message }),
            );
            await window.kit.dispose('rt');
            return e;
          },
          env.options({ model: 'nchw-gemm-logits', engine: 'ort-wasm', worker, pollIntervalMs: 0 }),
        );
        await page.context().close();
        assert.equal(err?.code, 'EL_RT_BAD_INPUT');
        assert.match(err!.message, /expected shape \[8, 8, 3\] \(192 values, the manifest's input\.shape\), got \[3\]/);
      });
    }

    test('the install hint appears only when an engine library is really missing', async () => {
      const c = cases.find((x) => x.name === 'nchw-gemm-logits')!;
      await env.publishModel('not-onnx', { version: 'v1', labels: c.labels, input: c.input, output: c.output }, [
        { format: 'onnx', name: 'model.onnx', bytes: new TextEncoder().encode('not a protobuf') },
      ]);
      const page = await env.open(await env.context());
      const broken = await attempt(page, env.options({ model: 'not-onnx', engine: 'ort-wasm', pollIntervalMs: 0 }));
      const missing = await page.evaluate(
        async (opts) => {
          // An engine whose library cannot be imported, as when onnxruntime-web is not installed.
          const { importLibrary } = window.internal;
          window.edgeloop.registerEngine({
            name: 'no-library',
            priority: 1,
            format: 'onnx',
            unavailable: async () => null,
            load: () =>
              importLibrary('onnxruntime-web', () => import(/* @vite-ignore */ `${location.origin}/no-such-module.js`)),
          });
          return window.edgeloop.createRuntime({ ...opts, engine: 'no-library' }).then(
            () => null,
            (e: { code: string; message: string }) => ({ code: e.code, message: e.message }),
          );
        },
        env.options({ model: 'nchw-gemm-logits', pollIntervalMs: 0 }),
      );
      await page.context().close();
      assert.equal(broken?.code, 'EL_RT_NO_ENGINE');
      assert.match(broken!.message, /ort-wasm: load failed/);
      assert.doesNotMatch(broken!.message, /Install/);
      assert.equal(missing?.code, 'EL_RT_NO_ENGINE');
      assert.match(missing!.message, /no-library: load failed: "onnxruntime-web" could not be imported/);
      assert.match(missing!.message, /Install onnxruntime-web, or pick another engine$/);
    });
  });
});
