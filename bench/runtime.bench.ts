/**
 * @edgeloop/runtime in headless Chromium (WebGPU on SwiftShader enabled), against a real collector, on the
 * digits fixture. Every figure is a ratio to a baseline measured in the same run, in the same page:
 *   1. rt.predict() against a raw session.run() (onnxruntime-web WASM) and model.predict() (TF.js WASM);
 *   2. engine 'auto' against the fastest engine measured by hand, and onnxruntime-web's own ['webgpu', 'wasm'];
 *   3. p99 prediction latency while 10 versions are hot-swapped against steady state, and the time from a
 *      manifest change seen to the first prediction on the new version;
 *   4. the runtime's own code size (min+gzip, engines excluded);
 *   5. IndexedDB logging capacity: predictions per second with every prediction stored (input included)
 *      against predictions per second with nothing stored.
 * The pages are cross-origin isolated (COOP/COEP) for 5 µs timers; comparisons run as interleaved pairs so both
 * sides see the same machine load.
 */
import { startEnv } from '../packages/runtime/test/helpers/env.js';
import { digits, variant } from '../packages/runtime/test/helpers/fixture.js';
import { measureSize } from '../packages/runtime/test/helpers/size.js';
import { percentile, report, type Row } from './report.js';

const ROUNDS = Number(process.env.RUNTIME_BENCH_ROUNDS ?? 30);
const PER_ROUND = Number(process.env.RUNTIME_BENCH_CALLS ?? 200);
const median = (xs: number[]) => percentile(xs, 50);
const r3 = (v: number) => Math.round(v * 1000) / 1000;

// Cross-origin isolated pages get 5 µs timers (100 µs otherwise).
const env = await startEnv({ webgpu: true, isolated: true });
const rows: Row[] = [];
const extra: Record<string, unknown> = { rounds: ROUNDS, callsPerRound: PER_ROUND };
try {
  await env.publish('quiet', {}, { lowConfidence: 0, sampleRate: 0 });
  await env.publish('keep-all', {}, { lowConfidence: 1, sampleRate: 0 });
  const { x } = digits(50);

  // 1. Overhead of rt.predict() over the raw engine call, same model, same page, interleaved rounds.
  for (const policy of ['quiet', 'keep-all'] as const) {
    await env.rollout({ stable: policy });
    const page = await env.open(await env.context());
    const res = await page.evaluate(async ({ opts, x, rounds, n }) => {
      const headers = { authorization: `Bearer ${opts.key}` };
      const manifest = await (await fetch(`/v1/models/digits/manifest?device=bench`, { headers })).json();
      const bytes = async (name: string) => (await fetch(manifest.artifacts.find((a: { name: string }) => a.name === name).url, { headers })).arrayBuffer();
      const inputs = x.map((v) => new Float32Array(v));
      const out: Record<string, { raw: number[]; rt: number[]; ratio: number[] }> = {};
      // onnxruntime-web, WASM EP.
      const rtOrt = await window.edgeloop.createRuntime({ ...opts, engine: 'ort-wasm' });
      const ort = await window.raw.ortWasm();
      const session = await ort.InferenceSession.create(new Uint8Array(await bytes('model.onnx')), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      const ortRaw = async (v: Float32Array) => (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', v, [1, 28, 28, 1]) }))[session.outputNames[0]!]!.data;
      // TF.js Layers, WASM backend (made active by the runtime's engine).
      const rtTf = await window.edgeloop.createRuntime({ ...opts, engine: 'tfjs-wasm' });
      const tf = await window.raw.tf();
      const layers = await window.raw.layers();
      const json = JSON.parse(new TextDecoder().decode(await bytes('model.json')));
      const model = await layers.loadLayersModel({ load: async () => ({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights), weightData: await bytes('weights.bin') }) } as never);
      const tfRaw = async (v: Float32Array) => {
        const y = tf.tidy(() => model.predict(tf.tensor(v, [1, 28, 28, 1])) as never) as unknown as { data(): Promise<Float32Array>; dispose(): void };
        const d = await y.data();
        y.dispose();
        return d;
      };
      const idle = () => new Promise((r) => setTimeout(r, 20));
      // Single calls in interleaved pairs (which goes first alternates), timed one by one (the page is cross-origin
      // isolated: 5 µs timers); per block, the ratio of the medians. Both sides see the same machine load.
      const med = (xs: number[]) => [...xs].sort((p, q) => p - q)[xs.length >> 1]!;
      for (const [name, raw, rt] of [['ort-wasm A/A: raw vs raw', ortRaw, ortRaw], ['ort-wasm', ortRaw, (v: Float32Array) => rtOrt.predict(v)], ['tfjs-wasm', tfRaw, (v: Float32Array) => rtTf.predict(v)]] as const) {
        const r = { raw: [] as number[], rt: [] as number[], ratio: [] as number[] };
        for (let i = 0; i < 300; i++) {
          await raw(inputs[i % inputs.length]!);
          await rt(inputs[i % inputs.length]!);
        }
        for (let block = 0; block < rounds; block++) {
          const a: number[] = [];
          const b: number[] = [];
          for (let i = 0; i < n; i++) {
            const v = inputs[i % inputs.length]!;
            const t0 = performance.now();
            await (i % 2 ? raw(v) : rt(v));
            const t1 = performance.now();
            await (i % 2 ? rt(v) : raw(v));
            const t2 = performance.now();
            (i % 2 ? a : b).push(t1 - t0);
            (i % 2 ? b : a).push(t2 - t1);
          }
          r.raw.push(med(a));
          r.rt.push(med(b));
          r.ratio.push(med(b) / med(a));
          // Deferred logging runs here, outside both timings (it is measured in section 5).
          await idle();
        }
        out[name] = r;
      }
      await rtOrt.dispose();
      await rtTf.dispose();
      return out;
    }, { opts: env.options({ pollIntervalMs: 0, statsWindowMs: 3_600_000 }) as { key: string; collector: string; model: string }, x, rounds: ROUNDS, n: PER_ROUND });
    for (const [engine, r] of Object.entries(res)) {
      const ratios = r.ratio;
      if (engine.includes('A/A') && policy !== 'quiet') continue;
      rows.push({ measure: engine.includes('A/A') ? `noise floor, ${engine}` : `rt.predict() vs raw, ${engine}, policy ${policy === 'quiet' ? 'keeps nothing' : 'keeps every prediction'}`, value: r3(median(r.rt)), baseline: r3(median(r.raw)), unit: 'ms/prediction (median)', ratio: r3(median(ratios)), target: engine.includes('A/A') ? '≈ 1 (noise)' : '≤ 1.05' });
    }
    await page.close();
  }

  // 2. Engine choice: every engine by hand, 'auto', and onnxruntime-web's default provider order, one page.
  await env.rollout({ stable: 'quiet' });
  {
    const page = await env.open(await env.context());
    const res = await page.evaluate(async ({ opts, x, rounds, n }) => {
      const inputs = x.map((v) => new Float32Array(v));
      const engines = ['ort-wasm', 'ort-webgpu', 'tfjs-wasm', 'tfjs-webgpu', 'tfjs-cpu'] as const;
      const t0 = performance.now();
      const auto = await window.edgeloop.createRuntime({ ...opts, engine: 'auto' });
      const autoStartMs = performance.now() - t0;
      const byHand: Record<string, { predict(v: Float32Array): Promise<unknown> }> = {};
      for (const e of engines) byHand[e] = await window.edgeloop.createRuntime({ ...opts, engine: e });
      const headers = { authorization: `Bearer ${opts.key}` };
      const manifest = await (await fetch(`/v1/models/digits/manifest?device=bench`, { headers })).json();
      const onnx = await (await fetch(manifest.artifacts.find((a: { format: string }) => a.format === 'onnx').url, { headers })).arrayBuffer();
      const ort = await window.raw.ortWebgpu();
      const session = await ort.InferenceSession.create(new Uint8Array(onnx), { executionProviders: ['webgpu', 'wasm'] });
      const ortDefault = { predict: async (v: Float32Array) => (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', v, [1, 28, 28, 1]) }))[session.outputNames[0]!]!.getData() };
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
            if (i % 2) { tf += t1 - t0; tg += t2 - t1; } else { tg += t1 - t0; tf += t2 - t1; }
          }
          ratios.push(tf / tg);
        }
        return med(ratios);
      };
      const autoVsFastest = await pairs(auto, byHand[fastest]!, n, rounds);
      const defaultVsAuto = await pairs(ortDefault, auto, 10, 5);
      return { times, status: auto.status().engine, autoStartMs, fastest, autoVsFastest, defaultVsAuto };
    }, { opts: env.options({ pollIntervalMs: 0, statsWindowMs: 3_600_000, autoRuns: 5 }) as { key: string; collector: string; model: string }, x, rounds: Math.ceil(ROUNDS / 2), n: PER_ROUND });
    const med = Object.fromEntries(Object.entries(res.times).map(([k, v]) => [k, median(v)]));
    const handNames = ['ort-wasm', 'ort-webgpu', 'tfjs-wasm', 'tfjs-webgpu', 'tfjs-cpu'];
    const fastest = res.fastest;
    for (const n of handNames) rows.push({ measure: `engine ${n} (by hand)`, value: r3(med[n]!), baseline: r3(med[fastest]!), unit: 'ms/prediction (median)', ratio: r3(med[n]! / med[fastest]!), target: '' });
    rows.push({ measure: `engine 'auto' (chose ${res.status?.name}) vs fastest by hand (${fastest}), interleaved pairs`, value: r3(med.auto!), baseline: r3(med[fastest]!), unit: 'ms/prediction (median)', ratio: r3(res.autoVsFastest), target: '≤ 1.10' });
    rows.push({ measure: "onnxruntime-web default ['webgpu', 'wasm'] vs 'auto', interleaved pairs", value: r3(med['ort default [webgpu, wasm]']!), baseline: r3(med.auto!), unit: 'ms/prediction (median)', ratio: r3(res.defaultVsAuto), target: 'report' });
    extra.auto = { ...res.status, startMs: Math.round(res.autoStartMs) };
    await page.close();
  }

  // 3. Hot swap: p99 latency while 10 versions are swapped in, against steady state; manifest seen → first prediction.
  {
    // Published beforehand, so the collector's upload work (same machine) does not land in the swap phase.
    const versions: string[] = [];
    for (let i = 1; i <= 10; i++) {
      versions.push(`swap-${i}`);
      await env.publish(`swap-${i}`, variant(1000 + i), { lowConfidence: 0, sampleRate: 0 });
    }
    await env.rollout({ stable: 'quiet' });
    const page = await env.open(await env.context());
    await page.evaluate(async ({ opts, x }) => {
      const rt = await window.edgeloop.createRuntime({ ...opts, engine: 'ort-wasm' });
      const w = window as unknown as { bench: { rt: typeof rt; phase: string; lat: Record<string, number[]>; seen: Record<string, number>; first: Record<string, number>; stop: boolean; done: Promise<void> } };
      const b = { rt, phase: 'warm', lat: {} as Record<string, number[]>, seen: {} as Record<string, number>, first: {} as Record<string, number>, stop: false, done: Promise.resolve() };
      rt.on('swap', (e) => (b.seen[e.to] = performance.now() - e.tookMs));
      const inputs = x.map((v) => new Float32Array(v));
      b.done = (async () => {
        for (let i = 0; !b.stop; i++) {
          // An app predicting per frame or input event: other tasks (polls, swaps, logging) run in between.
          await new Promise((r) => setTimeout(r, 0));
          const t0 = performance.now();
          const p = await rt.predict(inputs[i % inputs.length]!);
          const t1 = performance.now();
          (b.lat[b.phase] ??= []).push(t1 - t0);
          b.first[p.version] ??= t1;
        }
      })();
      w.bench = b;
    }, { opts: env.options({ pollIntervalMs: 0, statsWindowMs: 3_600_000 }) as { key: string; collector: string; model: string }, x });
    const phase = (name: string) => page.evaluate((name) => ((window as unknown as { bench: { phase: string } }).bench.phase = name), name);
    await new Promise((r) => setTimeout(r, 1000));
    await phase('steady');
    await new Promise((r) => setTimeout(r, 4000));
    await phase('swaps');
    for (const v of versions) {
      await env.rollout({ stable: v });
      const swapped = await page.evaluate(() => (window as unknown as { bench: { rt: { update(): Promise<boolean> } } }).bench.rt.update());
      if (!swapped) throw new Error(`no swap to ${v}`);
    }
    await new Promise((r) => setTimeout(r, 200));
    const b = await page.evaluate(async () => {
      const bench = (window as unknown as { bench: { stop: boolean; done: Promise<void>; lat: Record<string, number[]>; seen: Record<string, number>; first: Record<string, number> } }).bench;
      bench.stop = true;
      await bench.done;
      return { lat: bench.lat, seen: bench.seen, first: bench.first };
    });
    const steady = b.lat.steady!;
    const swaps = b.lat.swaps!;
    rows.push({ measure: `p99 prediction latency during 10 hot swaps (${swaps.length} predictions) vs steady (${steady.length})`, value: r3(percentile(swaps, 99)), baseline: r3(percentile(steady, 99)), unit: 'ms (p99)', ratio: r3(percentile(swaps, 99) / percentile(steady, 99)), target: '≤ 1.5' });
    rows.push({ measure: 'max prediction latency during swaps vs steady', value: r3(Math.max(...swaps)), baseline: r3(Math.max(...steady)), unit: 'ms (max)', ratio: r3(Math.max(...swaps) / Math.max(...steady)), target: 'report' });
    const toFirst = versions.map((v) => b.first[v]! - b.seen[v]!);
    rows.push({ measure: 'manifest change seen → first prediction on the new version (median of 10)', value: r3(median(toFirst)), baseline: null, unit: 'ms', ratio: null, target: 'report' });
    rows.push({ measure: 'manifest change seen → first prediction on the new version (max of 10)', value: r3(Math.max(...toFirst)), baseline: null, unit: 'ms', ratio: null, target: 'report' });
    await page.close();
  }

  // 4. Size of the runtime's own code.
  {
    const size = await measureSize();
    rows.push({ measure: "createRuntime() code, engines excluded (esbuild, minified, gzip -9)", value: size.initialMinGzip, baseline: 15 * 1024, unit: 'bytes min+gzip', ratio: r3(size.initialMinGzip / (15 * 1024)), target: '≤ 1 (15 KiB)' });
    extra.size = size;
  }

  // 5. Logging capacity: every prediction stored with its input (nothing sent), against storing nothing.
  {
    const N = 3000;
    const result: Record<string, number> = {};
    for (const policy of ['quiet', 'keep-all'] as const) {
      await env.rollout({ stable: policy });
      const page = await env.open(await env.context());
      result[policy] = await page.evaluate(async ({ opts, x, N, policy }) => {
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
      }, { opts: env.options({ pollIntervalMs: 0, statsWindowMs: 3_600_000, outbox: { batchEvents: 1e9, flushIntervalMs: 3_600_000, maxEvents: 1e6, maxBytes: 1e9 } }) as { key: string; collector: string; model: string }, x, N, policy });
      await page.close();
    }
    rows.push({ measure: `predictions/s with every prediction logged to IndexedDB (input included) vs none logged, ${N} predictions`, value: Math.round(result['keep-all']!), baseline: Math.round(result.quiet!), unit: 'predictions/s', ratio: r3(result['keep-all']! / result.quiet!), target: 'report' });
  }
} finally {
  await env.close();
}
report('runtime', rows, extra);
