/**
 * Trainer figures, all measured in one run:
 *  1. Training throughput (samples/s) through the trainer's fitModel against a bare `model.fit` on the same backend,
 *     model and data, in interleaved rounds. Target: ratio ≥ 0.95. Reported per wall second and per CPU second
 *     (this process's user+system time: the machine is shared, and the cpu backend runs on one thread).
 *  2. One full retrain cycle of the fixed recipe on a real collector (in this process): a batch of 500 corrections
 *     of thick-stroke digits + replay, 5 epochs, gate, export (ONNX parity), publish, canary — total and per phase
 *     (the candidate search's cycles are timed by bench/drift.bench.ts).
 *  3. Accuracy on the drifted slice (held-out thick digits) and on the golden set, before and after that cycle.
 *
 * Usage: npm run bench -- train   (TRAIN_BENCH_BACKEND=webgpu on a machine with a GPU; TRAIN_BENCH_ROUNDS=6;
 *        TRAIN_BENCH_ONLY=throughput for the first figure alone)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildApp } from '@edgeloop/collector';
import {
  bootstrap,
  buildDigitsModel,
  CollectorClient,
  evaluateVersion,
  fitModel,
  inputTensor,
  loadMnist,
  oneHotTensor,
  pick,
  retrain,
  take,
  thicken,
  useBackend,
  type BackendRequest,
  type ExampleSet,
} from '../packages/trainer/src/index.js';
import { sendCorrections } from '../packages/trainer/test/helpers/corrections.js';
import { KEYS } from '../packages/trainer/test/helpers/collector.js';
import { report, type Row } from './report.js';

tf.env().set('PROD', true);
const backend = await useBackend((process.env.TRAIN_BENCH_BACKEND ?? 'cpu') as BackendRequest);
const ROUNDS = Number(process.env.TRAIN_BENCH_ROUNDS ?? 8);
const ONLY_THROUGHPUT = process.env.TRAIN_BENCH_ONLY === 'throughput';
const BATCH = 64;
console.log(
  `backend: ${backend.name} (${backend.reason}); load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);

// 1. Throughput: the same model (same initial weights) and data through both paths, interleaved.
const data = loadMnist('train', 1024);
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
async function timed(run: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const [w0, c0] = [performance.now(), cpuNow()];
  await run();
  return { wall: (performance.now() - w0) / 1000, cpu: cpuNow() - c0 };
}
async function bareFit(set: ExampleSet): Promise<void> {
  const model = buildDigitsModel({ seed: 5 });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const [xs, ys] = [inputTensor(set), oneHotTensor(set)];
  await model.fit(xs, ys, { epochs: 1, batchSize: BATCH, shuffle: true, verbose: 0 });
  tf.dispose([xs, ys]);
  model.dispose();
}
async function trainerFit(set: ExampleSet): Promise<void> {
  const model = buildDigitsModel({ seed: 5 });
  await fitModel(model, set, { epochs: 1, batchSize: BATCH, learningRate: 1e-3 });
  model.dispose();
}
await bareFit(take(data, 128)); // warm-up: kernels, allocator
await trainerFit(take(data, 128));
const samples = { bare: [] as { wall: number; cpu: number }[], trainer: [] as { wall: number; cpu: number }[] };
for (let r = 0; r < ROUNDS; r++) {
  // Alternate which goes first, so drift in the machine's load does not favour one side.
  if (r % 2 === 0) {
    samples.bare.push(await timed(() => bareFit(data)));
    samples.trainer.push(await timed(() => trainerFit(data)));
  } else {
    samples.trainer.push(await timed(() => trainerFit(data)));
    samples.bare.push(await timed(() => bareFit(data)));
  }
}
const total = (xs: { wall: number; cpu: number }[], k: 'wall' | 'cpu') => xs.reduce((a, x) => a + x[k], 0);
const rate = (xs: { wall: number; cpu: number }[], k: 'wall' | 'cpu') => (data.count * xs.length) / total(xs, k);
// Paired ratios (each round's trainer run against the bare run beside it) resist the machine's load swings.
const paired = samples.trainer.map((t, i) => samples.bare[i]!.cpu / t.cpu).sort((a, b) => a - b);
const median = paired[Math.floor(paired.length / 2)]!;
const rows: Row[] = [
  {
    figure: 'throughput: bare model.fit (baseline)',
    'samples/s (wall)': rate(samples.bare, 'wall').toFixed(1),
    'samples per CPU-s': rate(samples.bare, 'cpu').toFixed(1),
    ratio: 1,
  },
  {
    figure: 'throughput: trainer fitModel',
    'samples/s (wall)': rate(samples.trainer, 'wall').toFixed(1),
    'samples per CPU-s': rate(samples.trainer, 'cpu').toFixed(1),
    ratio: Number((rate(samples.trainer, 'cpu') / rate(samples.bare, 'cpu')).toFixed(3)),
    'median paired ratio': Number(median.toFixed(3)),
  },
];

if (ONLY_THROUGHPUT) {
  report('train-throughput', rows, {
    backend,
    rounds: ROUNDS,
    batchSize: BATCH,
    throughputSamples: samples,
    loadavg: loadavg(),
  });
  process.exit(0);
}

// 2 + 3. One full cycle on a real collector.
const dataDir = mkdtempSync(join(tmpdir(), 'edgeloop-train-bench-'));
const app = await buildApp({ dataDir, seedKeys: KEYS, controller: false, rateLimit: false });
const url = await app.listen({ host: '127.0.0.1', port: 0 });
const client = new CollectorClient({ url, token: KEYS.trainer });
await bootstrap(client, { model: 'digits', examples: 3000, epochs: 3, backend: backend.name });
const drift = thicken(loadMnist('drift'), 1);
const range = (from: number, to: number) =>
  pick(
    drift,
    [...Array(to - from).keys()].map((i) => i + from),
  );
const heldOut = { name: 'thick digits (held out)', set: range(1000, 1400) };
await sendCorrections(url, range(0, 500));
const phases: { at: number; step: string }[] = [];
const t0 = performance.now();
const c0 = cpuNow();
const result = await retrain(client, {
  // The fixed recipe with the gate of its day (as the drift suite's baseline): this figure times a cycle; whether
  // retraining gains is the drift suite's question.
  model: 'digits',
  recipe: 'fixed',
  epochs: 5,
  seed: 3,
  backend: backend.name,
  gate: { minGain: 0, gainZ: 0, replayTolerance: 1 },
  reporter: { step: (s) => phases.push({ at: performance.now(), step: s.split('\n')[0]! }), progress() {} },
});
const cycle = { wall: (performance.now() - t0) / 1000, cpu: cpuNow() - c0 };
if (result.status !== 'published') throw new Error(`the cycle did not publish: ${JSON.stringify(result)}`);
const phase = (from: RegExp, to: RegExp) => {
  const a = phases.find((p) => from.test(p.step))?.at ?? t0;
  const b = phases.find((p) => to.test(p.step))?.at ?? performance.now();
  return ((b - a) / 1000).toFixed(1);
};
rows.push({
  figure: `retrain cycle, fixed recipe (${result.metrics['train.examples']} corrections + replay 2:1, 5 epochs, ${backend.name}; the search: bench/drift.bench.ts)`,
  'total s (wall)': cycle.wall.toFixed(1),
  'CPU s': cycle.cpu.toFixed(1),
  'freeze+download s': (((phases.find((p) => /^fine-tuning/.test(p.step))?.at ?? t0) - t0) / 1000).toFixed(1),
  'fine-tune s': phase(/^fine-tuning/, /^gating/),
  'gate s': phase(/^gating/, /^metric|^exporting/),
  'export+parity+upload s': phase(/^exporting/, /^published/),
  'canary s': phase(/^published/, /^canary/),
});
for (const [name, data] of [
  ['drifted slice', heldOut],
  ['golden set', undefined],
] as const) {
  const before = await evaluateVersion(client, 'digits', 'v1', data);
  const after = await evaluateVersion(client, 'digits', result.version, data);
  rows.push({
    figure: `accuracy on the ${name} (${before.count})`,
    before: before.accuracy.toFixed(4),
    after: after.accuracy.toFixed(4),
    'change (points)': ((after.accuracy - before.accuracy) * 100).toFixed(2),
  });
}
await app.close();
rmSync(dataDir, { recursive: true, force: true });
report('train', rows, {
  backend,
  rounds: ROUNDS,
  batchSize: BATCH,
  throughputSamples: samples,
  phases: phases.map((p) => ({ s: ((p.at - t0) / 1000).toFixed(2), step: p.step })),
  gate: result.gate,
  loadavg: loadavg(),
});
process.exit(0);
