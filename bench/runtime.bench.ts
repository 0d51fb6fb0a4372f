/**
 * @edgeloop/runtime in headless Chromium (WebGPU on SwiftShader enabled), against a real collector, on the
 * digits fixture. Every figure is a ratio to a baseline measured in the same run, in the same page:
 *   1. rt.predict() against a raw session.run() (onnxruntime-web WASM) and model.predict() (TF.js WASM), in
 *      interleaved runs of 10 calls (and single calls); for ORT also with the adapter on each of its two paths
 *      into ORT (the public InferenceSession.run and the session's handler), each against raw and against the other;
 *   2. engine 'auto' against the fastest engine measured by hand, and onnxruntime-web's own ['webgpu', 'wasm'];
 *   3. p99 prediction latency in the windows where a version is hot-swapped against steady windows as long between
 *      them, and the time from a manifest change seen to the first prediction on the new version; and the same
 *      windows around a bare model load (what loading any model costs the predictions beside it: the floor);
 *   4. the runtime's own code size (min+gzip, engines excluded);
 *   5. IndexedDB logging capacity: predictions per second with every prediction stored (input included)
 *      against predictions per second with nothing stored;
 *   6. section 1's overhead with models this project did not make: PyTorch ONNX models that take channels-first
 *      input and output logits (the CNN of examples/pytorch, [1, 28, 28]; a Conv + Gemm net on [3, 8, 8] with
 *      per-channel mean/std), published with a calibration temperature. The runtime transposes and normalises the
 *      app's channels-last input and scores softmax(z / T) itself; the raw side is the bare session.run() on the
 *      input already in the model's layout and scale (made in Node beforehand), its logits left as they are.
 * The pages are cross-origin isolated (COOP/COEP) for 5 µs timers; both sides of every comparison are interleaved
 * so they see the same machine load. BENCHMARKS.md (runtime section) describes each method.
 */
import { rmSync } from 'node:fs';
import { startEnv } from '../packages/runtime/test/helpers/env.js';
import { digits, variant } from '../packages/runtime/test/helpers/fixture.js';
import { foreignModels } from '../packages/runtime/test/helpers/foreign.js';
import { measureSize } from '../packages/runtime/test/helpers/size.js';
import { makeTorchModels } from '../packages/trainer/test/helpers/torch.js';
import { cannotPin, pinPageThreads } from './pin.js';
import { percentile, report, type Row } from './report.js';

const ROUNDS = Number(process.env.RUNTIME_BENCH_ROUNDS ?? 30);
const PER_ROUND = Number(process.env.RUNTIME_BENCH_CALLS ?? 200);
// RUNTIME_BENCH_ONLY=1,3 runs only those sections (the JSON then holds only their rows).
const only = new Set((process.env.RUNTIME_BENCH_ONLY ?? '1,2,3,4,5,6').split(','));
// Hot swaps in section 3, and the gap (ms) between a swap window and the steady window after it.
const SWAPS = Number(process.env.RUNTIME_BENCH_SWAPS ?? 100);
const WARM_SWAPS = Number(process.env.RUNTIME_BENCH_WARM_SWAPS ?? 5);
const SWAP_GAP_MS = Number(process.env.RUNTIME_BENCH_SWAP_GAP_MS ?? 50);
// Blocks in the overhead comparison (section 1): enough that the median block ratio of the A/A test stays within
// the noise BENCHMARKS.md reports for it.
const BLOCKS = Number(process.env.RUNTIME_BENCH_BLOCKS ?? 120);
// Calls per timed run: by default as many as make a run last 1 ms of the raw call (at least 10), so that the 5 µs
// timer resolves a run's mean to 0.5 %, whatever this machine's speed.
const RUN = Number(process.env.RUNTIME_BENCH_RUN ?? 0);
const median = (xs: number[]) => percentile(xs, 50);
const r3 = (v: number) => Math.round(v * 1000) / 1000;
const r4 = (v: number) => Math.round(v * 10000) / 10000;

// Cross-origin isolated pages get 5 µs timers (100 µs otherwise).
const env = await startEnv({ webgpu: true, isolated: true });
const rows: Row[] = [];
const extra: Record<string, unknown> = {
  rounds: ROUNDS,
  overheadBlocks: BLOCKS,
  callsPerRound: PER_ROUND,
  callsPerRun: RUN || 'adaptive',
};
try {
  await env.publish('quiet', {}, { lowConfidence: 0, sampleRate: 0 });
  await env.publish('keep-all', {}, { lowConfidence: 1, sampleRate: 0 });
  const { x } = digits(50);

  // 1. Overhead of rt.predict() over the raw engine call, same model, same page, interleaved rounds.
  for (const policy of only.has('1') ? (['quiet', 'keep-all'] as const) : []) {
    await env.rollout({ stable: policy });
    const page = await env.open(await env.context());
    const res = await page.evaluate(
      async ({ opts, x, rounds, n, fixedK }) => {
        const headers = { authorization: `Bearer ${opts.key}` };
        const manifest = await (await fetch(`/v1/models/digits/manifest?device=bench`, { headers })).json();
        const bytes = async (name: string) =>
          (
            await fetch(manifest.artifacts.find((a: { name: string }) => a.name === name).url, { headers })
          ).arrayBuffer();
        const inputs = x.map((v) => new Float32Array(v));
        const out: Record<
          string,
          { raw: number[]; rt: number[]; ratio: number[]; rawCall: number[]; rtCall: number[]; callRatio: number[] }
        > = {};
        // onnxruntime-web, WASM EP.
        const rtOrt = await window.edgeloop.createRuntime({ ...opts, engine: 'ort-wasm' });
        // The same engine on each of the adapter's two paths into ORT, whichever the runtime ships: the public
        // InferenceSession.run(), and the session's handler (what run() calls after checking its arguments).
        const { ortWasm, loadOrt } = window.internal;
        window.edgeloop.registerEngine({
          ...ortWasm,
          name: 'ort-wasm-session',
          priority: 0,
          load: (m, c) => loadOrt('wasm', m, c, 'session'),
        });
        window.edgeloop.registerEngine({
          ...ortWasm,
          name: 'ort-wasm-handler',
          priority: 0,
          load: (m, c) => loadOrt('wasm', m, c, 'handler'),
        });
        const rtOrtSession = await window.edgeloop.createRuntime({ ...opts, engine: 'ort-wasm-session' });
        const rtOrtHandler = await window.edgeloop.createRuntime({ ...opts, engine: 'ort-wasm-handler' });
        const both = {
          status: () => ({
            outbox: { pending: rtOrtSession.status().outbox.pending + rtOrtHandler.status().outbox.pending },
          }),
        };
        const ort = await window.raw.ortWasm();
        const session = await ort.InferenceSession.create(new Uint8Array(await bytes('model.onnx')), {
          executionProviders: ['wasm'],
          graphOptimizationLevel: 'all',
        });
        const ortRaw = async (v: Float32Array) =>
          (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', v, [1, 28, 28, 1]) }))[
            session.outputNames[0]!
          ]!.data;
        // TF.js Layers, WASM backend (made active by the runtime's engine).
        const rtTf = await window.edgeloop.createRuntime({ ...opts, engine: 'tfjs-wasm' });
        const tf = await window.raw.tf();
        const layers = await window.raw.layers();
        const json = JSON.parse(new TextDecoder().decode(await bytes('model.json')));
        const model = await layers.loadLayersModel({
          load: async () => ({
            modelTopology: json.modelTopology,
            weightSpecs: json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights),
            weightData: await bytes('weights.bin'),
          }),
        } as never);
        const tfRaw = async (v: Float32Array) => {
          const y = tf.tidy(() => model.predict(tf.tensor(v, [1, 28, 28, 1])) as never) as unknown as {
            data(): Promise<Float32Array>;
            dispose(): void;
          };
          const d = await y.data();
          y.dispose();
          return d;
        };
        const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
        // The gap after a block: the runtime's deferred logging of that block (hashing, IndexedDB, the uploads the
        // outbox starts every 10 events) runs to its end, then 20 ms more; so a block times the prediction path and
        // not the previous block's logging still going on beside it, on these 2 cores.
        const idle = async (runtime: { status(): { outbox: { pending: number } } } | null) => {
          await sleep(20);
          for (let i = 0; runtime && runtime.status().outbox.pending > 0 && i < 1000; i++) await sleep(5);
          if (runtime) await sleep(20);
        };
        // Interleaved runs of K calls (raw K, rt K, rt K, raw K, …: which side goes first alternates), each call and
        // each run timed. The page's timer ticks in 5 µs, a tenth of a 50 µs call, so a per-call median can only be a
        // multiple of 5 µs; the mean over a run of K calls is exact to 5/K µs. Per block: the ratio of the medians
        // of the run means (the figure), and the ratio of the per-call medians (as before). Both sides see the same
        // machine load.
        const med = (xs: number[]) => [...xs].sort((p, q) => p - q)[xs.length >> 1]!;
        const callsPerRun: Record<string, number> = {};
        for (const [name, raw, rt, runtime] of [
          ['ort-wasm A/A: raw vs raw', ortRaw, ortRaw, null],
          ['ort-wasm', ortRaw, (v: Float32Array) => rtOrt.predict(v), rtOrt],
          ['ort-wasm via InferenceSession.run', ortRaw, (v: Float32Array) => rtOrtSession.predict(v), rtOrtSession],
          ['ort-wasm via session.handler', ortRaw, (v: Float32Array) => rtOrtHandler.predict(v), rtOrtHandler],
          [
            'ort-wasm A/B: via session.handler vs via InferenceSession.run',
            (v: Float32Array) => rtOrtHandler.predict(v),
            (v: Float32Array) => rtOrtSession.predict(v),
            both,
          ],
          ['tfjs-wasm', tfRaw, (v: Float32Array) => rtTf.predict(v), rtTf],
        ] as const) {
          const r = {
            raw: [] as number[],
            rt: [] as number[],
            ratio: [] as number[],
            rawCall: [] as number[],
            rtCall: [] as number[],
            callRatio: [] as number[],
          };
          for (let i = 0; i < 300; i++) {
            await raw(inputs[i % inputs.length]!);
            await rt(inputs[i % inputs.length]!);
          }
          // The warm-up's own deferred logging (300 kept predictions: hashing, IndexedDB, uploads) ends before the
          // first block; each block's own logging then runs in the gap after it.
          await new Promise((r) => setTimeout(r, 1000));
          // Run length (module comment): the raw call timed over 200 calls, after the warm-up.
          let t = performance.now();
          for (let i = 0; i < 200; i++) await raw(inputs[i % inputs.length]!);
          t = (performance.now() - t) / 200;
          const k = fixedK || Math.max(10, Math.ceil(1 / t));
          callsPerRun[name] = k;
          for (let block = 0; block < rounds; block++) {
            const runs = { raw: [] as number[], rt: [] as number[] };
            const calls = { raw: [] as number[], rt: [] as number[] };
            for (let j = 0; j < 2 * Math.max(1, Math.round(n / 20)); j++) {
              // ABBA order (raw, rt, rt, raw, …), and BAAB in every other block: the first run after the idle gap
              // is the slowest, and it must not always fall on the same side.
              const side = (j + (j >> 1) + block) % 2 ? 'rt' : 'raw';
              const f = side === 'rt' ? rt : raw;
              const start = performance.now();
              let last = start;
              for (let i = 0; i < k; i++) {
                await f(inputs[(j * k + i) % inputs.length]!);
                const now = performance.now();
                calls[side].push(now - last);
                last = now;
              }
              runs[side].push((last - start) / k);
            }
            r.raw.push(med(runs.raw));
            r.rt.push(med(runs.rt));
            r.ratio.push(med(runs.rt) / med(runs.raw));
            r.rawCall.push(med(calls.raw));
            r.rtCall.push(med(calls.rt));
            r.callRatio.push(med(calls.rt) / med(calls.raw));
            // Deferred logging runs here, outside both timings (it is measured in section 5).
            await idle(runtime);
          }
          out[name] = r;
        }
        await rtOrt.dispose();
        await rtOrtSession.dispose();
        await rtOrtHandler.dispose();
        await rtTf.dispose();
        return { out, callsPerRun };
      },
      {
        opts: env.options({ pollIntervalMs: 0, statsWindowMs: 3_600_000 }) as {
          key: string;
          collector: string;
          model: string;
        },
        x,
        rounds: BLOCKS,
        n: PER_ROUND,
        fixedK: RUN,
      },
    );
    for (const [engine, r] of Object.entries(res.out)) {
      if (engine.includes('A/A') && policy !== 'quiet') continue;
      const k = res.callsPerRun[engine];
      const keeps = policy === 'quiet' ? 'keeps nothing' : 'keeps every prediction';
      const what = engine.includes('A/A')
        ? `noise floor, ${engine}`
        : engine.includes('A/B')
          ? `rt.predict(), ${engine}, policy ${keeps}`
          : `rt.predict() vs raw, ${engine}, policy ${keeps}`;
      const target = engine.includes('A/A') ? '≈ 1 (noise)' : engine.includes('A/B') ? 'report' : '≤ 1.05';
      rows.push({
        measure: `${what} (mean of ${k}-call runs)`,
        value: r4(median(r.rt)),
        baseline: r4(median(r.raw)),
        unit: 'ms/prediction (median)',
        ratio: r3(median(r.ratio)),
        target,
      });
      rows.push({
        measure: `${what} (single calls, 5 µs timer)`,
        value: r4(median(r.rtCall)),
        baseline: r4(median(r.rawCall)),
        unit: 'ms/prediction (median)',
        ratio: r3(median(r.callRatio)),
        target: 'report',
      });
      extra[`overhead ${policy} ${engine}`] = {
        callsPerRun: k,
        blockRatios: r.ratio.map(r3),
        blockCallRatios: r.callRatio.map(r3),
        overheadUs: r3((median(r.rt) - median(r.raw)) * 1000),
      };
    }
    await page.close();
  }

  // 2. Engine choice: every engine by hand, 'auto', and onnxruntime-web's default provider order, one page.
  await env.rollout({ stable: 'quiet' });
  if (only.has('2')) {
    const page = await env.open(await env.context());
    const res = await page.evaluate(
      async ({ opts, x, rounds, n }) => {
        const inputs = x.map((v) => new Float32Array(v));
        const engines = ['ort-wasm', 'ort-webgpu', 'tfjs-wasm', 'tfjs-webgpu', 'tfjs-cpu'] as const;
        const t0 = performance.now();
        const auto = await window.edgeloop.createRuntime({ ...opts, engine: 'auto' });
        const autoStartMs = performance.now() - t0;
        const byHand: Record<string, { predict(v: Float32Array): Promise<unknown> }> = {};
        for (const e of engines) byHand[e] = await window.edgeloop.createRuntime({ ...opts, engine: e });
        const headers = { authorization: `Bearer ${opts.key}` };
        const manifest = await (await fetch(`/v1/models/digits/manifest?device=bench`, { headers })).json();
        const onnx = await (
          await fetch(manifest.artifacts.find((a: { format: string }) => a.format === 'onnx').url, { headers })
        ).arrayBuffer();
        const ort = await window.raw.ortWebgpu();
        const session = await ort.InferenceSession.create(new Uint8Array(onnx), {
          executionProviders: ['webgpu', 'wasm'],
        });
        const ortDefault = {
          predict: async (v: Float32Array) =>
            (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', v, [1, 28, 28, 1]) }))[
              session.outputNames[0]!
            ]!.getData(),
        };
        type P = { predict(v: Float32Array): Promise<unknown> };
        const all: Record<string, P> = { ...byHand, auto, 'ort default [webgpu, wasm]': ortDefault };
        const times: Record<string, number[]> = {};
        const time = async (f: P, calls: number) => {
          const s = performance.now();
          for (let i = 0; i < calls; i++) await f.predict(inputs[i % inputs.length]!);
          return (performance.now() - s) / calls;
        };
        for (const f of Object.values(all)) await time(f, 5);
        for (let r = 0; r < rounds; r++) {
          for (const [name, f] of Object.entries(all)) {
            // The slow engines get fewer calls per round; every figure is still a mean over at least 5 calls.
            const calls = name.includes('webgpu') || name.includes('cpu') || name.includes('default') ? 5 : n;
            (times[name] ??= []).push(await time(f, calls));
          }
        }
        // Then the two comparisons that matter, as interleaved pairs (same load on both sides).
        const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
        const fastest = engines.reduce((x, y) => (med(times[y]!) < med(times[x]!) ? y : x));
        const pairs = async (f: P, g: P, count: number, blocks: number) => {
          const ratios: number[] = [];
          for (let b = 0; b < blocks; b++) {
            let tf = 0;
            let tg = 0;
            for (let i = 0; i < count; i++) {
              const v = inputs[i % inputs.length]!;
              const t0 = performance.now();
              await (i % 2 ? f : g).predict(v);
              const t1 = performance.now();
              await (i % 2 ? g : f).predict(v);
              const t2 = performance.now();
              if (i % 2) {
                tf += t1 - t0;
                tg += t2 - t1;
              } else {
                tg += t1 - t0;
                tf += t2 - t1;
              }
            }
            ratios.push(tf / tg);
          }
          return med(ratios);
        };
        const autoVsFastest = await pairs(auto, byHand[fastest]!, n, rounds);
        const defaultVsAuto = await pairs(ortDefault, auto, 10, 5);
        return { times, status: auto.status().engine, autoStartMs, fastest, autoVsFastest, defaultVsAuto };
      },
      {
        opts: env.options({ pollIntervalMs: 0, statsWindowMs: 3_600_000, autoRuns: 5 }) as {
          key: string;
          collector: string;
          model: string;
        },
        x,
        rounds: Math.ceil(ROUNDS / 2),
        n: PER_ROUND,
      },
    );
    const med = Object.fromEntries(Object.entries(res.times).map(([k, v]) => [k, median(v)]));
    const handNames = ['ort-wasm', 'ort-webgpu', 'tfjs-wasm', 'tfjs-webgpu', 'tfjs-cpu'];
    const fastest = res.fastest;
    for (const n of handNames)
      rows.push({
        measure: `engine ${n} (by hand)`,
        value: r3(med[n]!),
        baseline: r3(med[fastest]!),
        unit: 'ms/prediction (median)',
        ratio: r3(med[n]! / med[fastest]!),
        target: '',
      });
    rows.push({
      measure: `engine 'auto' (chose ${res.status?.name}) vs fastest by hand (${fastest}), interleaved pairs`,
      value: r3(med.auto!),
      baseline: r3(med[fastest]!),
      unit: 'ms/prediction (median)',
      ratio: r3(res.autoVsFastest),
      target: '≤ 1.10',
    });
    rows.push({
      measure: "onnxruntime-web default ['webgpu', 'wasm'] vs 'auto', interleaved pairs",
      value: r3(med['ort default [webgpu, wasm]']!),
      baseline: r3(med.auto!),
      unit: 'ms/prediction (median)',
      ratio: r3(res.defaultVsAuto),
      target: 'report',
    });
    extra.auto = { ...res.status, startMs: Math.round(res.autoStartMs) };
    await page.close();
  }

  // 3. Hot swap: p99 latency while versions are swapped in, against steady state; manifest seen → first prediction.
  if (only.has('3')) {
    // Published beforehand, so the collector's upload work (same machine) does not land in the swap windows.
    const warmups: string[] = [];
    const versions: string[] = [];
    for (let i = 1; i <= WARM_SWAPS + SWAPS; i++) {
      (i <= WARM_SWAPS ? warmups : versions).push(`swap-${i}`);
      await env.publish(`swap-${i}`, variant(1000 + i), { lowConfidence: 0, sampleRate: 0 });
    }
    // Two passes: every thread free to run on any core (as the machine runs), then the page's thread on a core of
    // its own and everything else (the browser's other threads, the collector and this driver) on the rest.
    // Each pass twice more with the runtime's swap replaced by the least an app must do to load a model (the
    // "bare load": fetch the artifact, hash it, InferenceSession.create, two runs, release), the runtime's own
    // session serving throughout: what loading a model costs the predictions beside it on this machine, the floor
    // of the swap figure.
    const why = cannotPin();
    const passes = (why ? [false] : [false, true]).flatMap((pinned) => [
      { pinned, bare: false },
      { pinned, bare: true },
    ]);
    for (const { pinned, bare } of passes) {
      await env.rollout({ stable: 'quiet' });
      const page = await env.open(await env.context());
      await page.evaluate(
        async ({ opts, x, GAP_MS, bare }) => {
          const rt = await window.edgeloop.createRuntime({ ...opts, engine: 'ort-wasm' });
          const w = window as unknown as {
            bench: {
              rt: typeof rt;
              phase: string;
              lat: Record<string, number[]>;
              seen: Record<string, number>;
              first: Record<string, number>;
              stop: boolean;
              done: Promise<void>;
              swap(): Promise<boolean>;
            };
          };
          const b = {
            rt,
            phase: 'warm',
            lat: {} as Record<string, number[]>,
            seen: {} as Record<string, number>,
            first: {} as Record<string, number>,
            stop: false,
            done: Promise.resolve(),
            swap: async () => false,
          };
          rt.on('swap', (e) => (b.seen[e.to] = performance.now() - e.tookMs));
          const inputs = x.map((v) => new Float32Array(v));
          // V8 compiles a specific JS-to-WebAssembly wrapper for an export after 1,000 calls through its generic one,
          // and tiers hot WebAssembly functions up in the background: done here, before any window, as in an app that
          // has been predicting for a while.
          for (let i = 0; i < 3000; i++) await rt.predict(inputs[i % inputs.length]!);
          b.done = (async () => {
            for (let i = 0; !b.stop; i++) {
              // An app predicting per frame or input event: other tasks (polls, swaps, logging) run in between.
              await new Promise((r) => setTimeout(r, 0));
              const phase = b.phase;
              const t0 = performance.now();
              const p = await rt.predict(inputs[i % inputs.length]!);
              const t1 = performance.now();
              // A prediction counts in a window only if it started and ended in it.
              if (b.phase === phase) (b.lat[phase] ??= []).push(t1 - t0);
              b.first[p.version] ??= t1;
            }
          })();
          // The swap window: from the poll that sees the new version until it serves, and the task after it that
          // releases the old session. Then, after a gap, a steady window of the same length: both windows hold about
          // as many predictions (a p99 of 150 predictions is their second slowest: the same estimator on both sides)
          // and see the same machine load.
          const ort = await window.raw.ortWasm();
          const headers = { authorization: `Bearer ${opts.key}` };
          const bareLoad = async () => {
            const manifest = await (await fetch(`/v1/models/digits/manifest?device=bare-load`, { headers })).json();
            const bytes = await (
              await fetch(manifest.artifacts.find((a: { name: string }) => a.name === 'model.onnx').url, { headers })
            ).arrayBuffer();
            await crypto.subtle.digest('SHA-256', bytes);
            const tick = () => new Promise((r) => setTimeout(r, 0));
            await tick();
            const session = await ort.InferenceSession.create(new Uint8Array(bytes), {
              executionProviders: ['wasm'],
              graphOptimizationLevel: 'all',
            });
            for (let i = 0; i < 2; i++) {
              await tick();
              await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', inputs[0]!, [1, 28, 28, 1]) });
            }
            await tick();
            await session.release();
            return true;
          };
          b.swap = async () => {
            b.phase = 'swaps';
            const t0 = performance.now();
            const swapped = bare ? await bareLoad() : await rt.update();
            await new Promise((r) => setTimeout(r, 10));
            const took = performance.now() - t0;
            b.phase = 'gap';
            await new Promise((r) => setTimeout(r, GAP_MS));
            b.phase = 'steady';
            await new Promise((r) => setTimeout(r, took));
            b.phase = 'gap';
            return swapped;
          };
          w.bench = b;
        },
        {
          opts: env.options({ pollIntervalMs: 0, statsWindowMs: 3_600_000 }) as {
            key: string;
            collector: string;
            model: string;
          },
          x,
          GAP_MS: SWAP_GAP_MS,
          bare,
        },
      );
      // After the warm-up: threads the page thread starts from here on inherit its core.
      if (pinned && pinPageThreads() === 0) throw new Error('no renderer main thread found to pin');
      const phase = (name: string) =>
        page.evaluate((name) => ((window as unknown as { bench: { phase: string } }).bench.phase = name), name);
      await new Promise((r) => setTimeout(r, 1000));
      // Swap windows alternate with steady windows of the same length, so both see the same machine load; the
      // rollout change (the collector's work, on this same machine) lands in neither. The first swaps are not
      // counted: a few swaps in a row make V8 compile the swap path itself (manifest, fetch, verify, ORT session
      // creation), in the background on these 2 cores and on the page thread, which in an app, with swaps hours
      // apart, happens once if at all.
      for (const v of [...warmups, ...versions]) {
        if (v === versions[0])
          await page.evaluate(
            () => ((window as unknown as { bench: { lat: Record<string, number[]> } }).bench.lat = {}),
          );
        await phase('gap');
        await env.rollout({ stable: v });
        const swapped = await page.evaluate(() =>
          (window as unknown as { bench: { swap(): Promise<boolean> } }).bench.swap(),
        );
        if (!swapped) throw new Error(`no swap to ${v}`);
      }
      const b = await page.evaluate(async () => {
        const bench = (
          window as unknown as {
            bench: {
              stop: boolean;
              done: Promise<void>;
              lat: Record<string, number[]>;
              seen: Record<string, number>;
              first: Record<string, number>;
            };
          }
        ).bench;
        bench.stop = true;
        await bench.done;
        return { lat: bench.lat, seen: bench.seen, first: bench.first };
      });
      if (pinned) pinPageThreads(false);
      const steady = b.lat.steady!;
      const how =
        (pinned ? ', page thread on a core of its own' : ', all threads on all cores') +
        (bare ? ', bare load instead of the swap (floor)' : '');
      const swaps = b.lat.swaps!;
      rows.push({
        measure: `p99 prediction latency during ${SWAPS} ${bare ? 'bare model loads' : 'hot swaps'} (${swaps.length} predictions) vs steady windows as long, between them (${steady.length})${how}`,
        value: r3(percentile(swaps, 99)),
        baseline: r3(percentile(steady, 99)),
        unit: 'ms (p99)',
        ratio: r3(percentile(swaps, 99) / percentile(steady, 99)),
        target: bare ? 'report (floor)' : '≤ 1.5',
      });
      rows.push({
        measure: `p50 prediction latency during ${bare ? 'loads' : 'swaps'} vs steady${how}`,
        value: r3(percentile(swaps, 50)),
        baseline: r3(percentile(steady, 50)),
        unit: 'ms (p50)',
        ratio: r3(percentile(swaps, 50) / percentile(steady, 50)),
        target: 'report',
      });
      rows.push({
        measure: `max prediction latency during ${bare ? 'loads' : 'swaps'} vs steady${how}`,
        value: r3(Math.max(...swaps)),
        baseline: r3(Math.max(...steady)),
        unit: 'ms (max)',
        ratio: r3(Math.max(...swaps) / Math.max(...steady)),
        target: 'report',
      });
      const toFirst = bare ? [] : versions.map((v) => b.first[v]! - b.seen[v]!);
      if (!bare)
        rows.push({
          measure: `manifest change seen → first prediction on the new version (median of ${SWAPS})${how}`,
          value: r3(median(toFirst)),
          baseline: null,
          unit: 'ms',
          ratio: null,
          target: 'report',
        });
      if (!bare)
        rows.push({
          measure: `manifest change seen → first prediction on the new version (max of ${SWAPS})${how}`,
          value: r3(Math.max(...toFirst)),
          baseline: null,
          unit: 'ms',
          ratio: null,
          target: 'report',
        });
      extra[(pinned ? 'swapPinned' : 'swap') + (bare ? 'BareLoad' : '')] = {
        swaps: SWAPS,
        warmupSwaps: WARM_SWAPS,
        gapMs: SWAP_GAP_MS,
        swapPredictions: swaps.length,
        steadyPredictions: steady.length,
        swapP90: r3(percentile(swaps, 90)),
        steadyP90: r3(percentile(steady, 90)),
      };
      await page.close();
    }
    if (why)
      rows.push({
        measure: `hot swaps with the page thread on a core of its own: not measured (${why})`,
        value: null,
        baseline: null,
        unit: '',
        ratio: null,
        target: '',
      });
  }

  // 4. Size of the runtime's own code.
  if (only.has('4')) {
    const size = await measureSize();
    rows.push({
      measure: 'createRuntime() code, engines excluded (esbuild, minified, gzip -9)',
      value: size.initialMinGzip,
      baseline: 15 * 1024,
      unit: 'bytes min+gzip',
      ratio: r3(size.initialMinGzip / (15 * 1024)),
      target: '≤ 1 (15 KiB)',
    });
    extra.size = size;
  }

  // 5. Logging capacity: every prediction stored with its input (nothing sent), against storing nothing.
  if (only.has('5')) {
    const N = 3000;
    const result: Record<string, number> = {};
    for (const policy of ['quiet', 'keep-all'] as const) {
      await env.rollout({ stable: policy });
      const page = await env.open(await env.context());
      result[policy] = await page.evaluate(
        async ({ opts, x, N, policy }) => {
          const rt = await window.edgeloop.createRuntime({ ...opts, engine: 'ort-wasm' });
          const inputs = x.map((v) => new Float32Array(v));
          const t0 = performance.now();
          for (let i = 0; i < N; i++) {
            if (i % 20 === 0) await new Promise((r) => setTimeout(r, 0));
            await rt.predict(inputs[i % inputs.length]!);
          }
          // Logging has kept up once every kept prediction is in IndexedDB.
          if (policy === 'keep-all') while (rt.status().outbox.pending < N) await new Promise((r) => setTimeout(r, 5));
          const s = (performance.now() - t0) / 1000;
          await rt.dispose();
          return N / s;
        },
        {
          opts: env.options({
            pollIntervalMs: 0,
            statsWindowMs: 3_600_000,
            outbox: { batchEvents: 1e9, flushIntervalMs: 3_600_000, maxEvents: 1e6, maxBytes: 1e9 },
          }) as { key: string; collector: string; model: string },
          x,
          N,
          policy,
        },
      );
      await page.close();
    }
    rows.push({
      measure: `predictions/s with every prediction logged to IndexedDB (input included) vs none logged, ${N} predictions`,
      value: Math.round(result['keep-all']!),
      baseline: Math.round(result.quiet!),
      unit: 'predictions/s',
      ratio: r3(result['keep-all']! / result.quiet!),
      target: 'report',
    });
  }

  // 6. Section 1's overhead on PyTorch NCHW logits models (module comment): layout, normalisation, softmax and
  // temperature are the runtime's work, not the raw call's.
  if (only.has('6')) {
    const torch = makeTorchModels();
    const rgb = foreignModels().find((c) => c.name === 'nchw-gemm-logits')!;
    const digitsIn = digits(50).x;
    const digitLabels = [...Array(10).keys()].map(String);
    const cases = [
      // The app's digit, channels last, is the same bytes as NCHW with one channel: the runtime's layout step is
      // the identity; what it adds is softmax(z / T).
      {
        model: 'torch-cnn',
        what: 'PyTorch CNN (examples/pytorch) NCHW [1, 28, 28], logits, T 1.5',
        onnx: torch.bytes('cnn-opset13'),
        labels: digitLabels,
        input: { shape: [28, 28, 1], dtype: 'float32', layout: 'nchw', normalize: { scale: 1, offset: 0 } },
        output: { kind: 'logits', temperature: 1.5 },
        raw: digitsIn,
        modelIn: digitsIn,
        modelShape: [1, 28, 28],
      },
      // Canvas pixels 0–255, channels last; the model takes (p / 255 − mean) / std, channels first.
      {
        model: 'torch-rgb',
        what: 'PyTorch Conv + Gemm NCHW [3, 8, 8], /255 + mean/std, logits, T 1.5',
        onnx: rgb.onnx,
        labels: rgb.labels,
        input: rgb.input,
        output: rgb.output!,
        raw: rgb.raw,
        modelIn: rgb.model,
        modelShape: rgb.modelShape,
      },
    ];
    rmSync(torch.dir, { recursive: true, force: true });
    for (const c of cases) {
      for (const [policy, p] of [
        ['quiet', { lowConfidence: 0, sampleRate: 0 }],
        ['keep-all', { lowConfidence: 1, sampleRate: 0 }],
      ] as const) {
        await env.publishModel(
          `${c.model}-${policy}`,
          { version: 'v1', labels: c.labels, input: c.input, output: c.output, policy: p },
          [{ format: 'onnx', name: 'model.onnx', bytes: c.onnx }],
        );
      }
    }
    const page = await env.open(await env.context());
    const res = await page.evaluate(
      async ({ opts, cases, rounds, n, fixedK }) => {
        const headers = { authorization: `Bearer ${opts.key}` };
        const ort = await window.raw.ortWasm();
        const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
        // As in section 1: deferred logging of a block runs to its end in the gap after it, outside both timings.
        const idle = async (runtime: { status(): { outbox: { pending: number } } } | null) => {
          await sleep(20);
          for (let i = 0; runtime && runtime.status().outbox.pending > 0 && i < 1000; i++) await sleep(5);
          if (runtime) await sleep(20);
        };
        const med = (xs: number[]) => [...xs].sort((p, q) => p - q)[xs.length >> 1]!;
        const out: Record<
          string,
          {
            raw: number[];
            rt: number[];
            ratio: number[];
            rawCall: number[];
            rtCall: number[];
            callRatio: number[];
            k: number;
          }
        > = {};
        for (const c of cases) {
          const manifest = await (await fetch(`/v1/models/${c.model}-quiet/manifest?device=bench`, { headers })).json();
          const onnx = await (
            await fetch(manifest.artifacts.find((a: { format: string }) => a.format === 'onnx').url, { headers })
          ).arrayBuffer();
          const session = await ort.InferenceSession.create(new Uint8Array(onnx), {
            executionProviders: ['wasm'],
            graphOptimizationLevel: 'all',
          });
          const shape = [1, ...c.modelShape];
          // The raw side: the bare call on the input already made channels first and normalised (made in Node).
          const modelIn = c.modelIn.map((v) => new Float32Array(v));
          const raws = c.raw.map((v) => new Float32Array(v));
          const ortRaw = async (i: number) =>
            (
              await session.run({
                [session.inputNames[0]!]: new ort.Tensor('float32', modelIn[i % modelIn.length]!, shape),
              })
            )[session.outputNames[0]!]!.data;
          for (const policy of ['quiet', 'keep-all'] as const) {
            const rt = await window.edgeloop.createRuntime({
              ...opts,
              model: `${c.model}-${policy}`,
              engine: 'ort-wasm',
            });
            const rtCall = (i: number) => rt.predict(raws[i % raws.length]!);
            for (const [name, raw, f, runtime] of [
              ...(policy === 'quiet' ? [[`${c.model} A/A: raw vs raw`, ortRaw, ortRaw, null] as const] : []),
              [`${c.model} ${policy}`, ortRaw, rtCall, rt] as const,
            ]) {
              const r = {
                raw: [] as number[],
                rt: [] as number[],
                ratio: [] as number[],
                rawCall: [] as number[],
                rtCall: [] as number[],
                callRatio: [] as number[],
                k: 0,
              };
              for (let i = 0; i < 300; i++) {
                await raw(i);
                await f(i);
              }
              await sleep(1000);
              let t = performance.now();
              for (let i = 0; i < 200; i++) await raw(i);
              t = (performance.now() - t) / 200;
              const k = fixedK || Math.max(10, Math.ceil(1 / t));
              r.k = k;
              for (let block = 0; block < rounds; block++) {
                const runs = { raw: [] as number[], rt: [] as number[] };
                const calls = { raw: [] as number[], rt: [] as number[] };
                for (let j = 0; j < 2 * Math.max(1, Math.round(n / 20)); j++) {
                  const side = (j + (j >> 1) + block) % 2 ? 'rt' : 'raw';
                  const g = side === 'rt' ? f : raw;
                  const start = performance.now();
                  let last = start;
                  for (let i = 0; i < k; i++) {
                    await g(j * k + i);
                    const now = performance.now();
                    calls[side].push(now - last);
                    last = now;
                  }
                  runs[side].push((last - start) / k);
                }
                r.raw.push(med(runs.raw));
                r.rt.push(med(runs.rt));
                r.ratio.push(med(runs.rt) / med(runs.raw));
                r.rawCall.push(med(calls.raw));
                r.rtCall.push(med(calls.rt));
                r.callRatio.push(med(calls.rt) / med(calls.raw));
                await idle(runtime);
              }
              out[name] = r;
            }
            await rt.dispose();
          }
          await session.release();
        }
        return out;
      },
      {
        opts: env.options({ pollIntervalMs: 0, statsWindowMs: 3_600_000 }) as {
          key: string;
          collector: string;
          model: string;
        },
        cases: cases.map(({ onnx: _onnx, ...c }) => c),
        rounds: BLOCKS,
        n: PER_ROUND,
        fixedK: RUN,
      },
    );
    for (const c of cases) {
      for (const name of [`${c.model} A/A: raw vs raw`, `${c.model} quiet`, `${c.model} keep-all`]) {
        const r = res[name]!;
        const aa = name.includes('A/A');
        const keeps = name.endsWith('quiet') ? 'keeps nothing' : 'keeps every prediction';
        const what = aa
          ? `noise floor, ort-wasm raw vs raw, ${c.what}`
          : `rt.predict() vs raw, ort-wasm, ${c.what}, policy ${keeps}`;
        rows.push({
          measure: `${what} (mean of ${r.k}-call runs)`,
          value: r4(median(r.rt)),
          baseline: r4(median(r.raw)),
          unit: 'ms/prediction (median)',
          ratio: r3(median(r.ratio)),
          target: aa ? '≈ 1 (noise)' : '≤ 1.05',
        });
        rows.push({
          measure: `${what} (single calls, 5 µs timer)`,
          value: r4(median(r.rtCall)),
          baseline: r4(median(r.rawCall)),
          unit: 'ms/prediction (median)',
          ratio: r3(median(r.callRatio)),
          target: 'report',
        });
        extra[`overhead logits ${name}`] = {
          callsPerRun: r.k,
          blockRatios: r.ratio.map(r3),
          overheadUs: r3((median(r.rt) - median(r.raw)) * 1000),
        };
      }
    }
    await page.close();
  }
} finally {
  await env.close();
}
report('runtime', rows, extra);
