/**
 * The drift suite: does a retraining cycle learn a drift nobody foresaw, without forgetting?
 *
 * One real collector (SQLite, in this process) and one bootstrapped digits v1 (all of MNIST's train part, as
 * `npm start` makes it). For each drift of the suite (DRIFTS: thick, thin, shifted, rotated, small, noisy,
 * occluded) and each recipe, a model of its own starts from that same v1 and its golden set, and devices behave as
 * they really do:
 *   1. 400 drifted digits are predicted by the stable version; a correction is sent only where it was wrong;
 *   2. one cycle (`retrain`); a published candidate is promoted to stable (as the canary would be);
 *   3. 300 more drifted digits, corrections where the new stable is wrong, a second cycle, promotion.
 * Accuracy is measured on 814 held-out drifted digits (never predicted by the devices) before, after cycle 1 and
 * after cycle 2, with the golden set's change, the gate's verdicts and each cycle's time.
 *
 * Recipes: `search` (the default: candidate search, WiSE-FT, balanced replay) and `fixed` (the recipe before it:
 * learning rate 3e-4, 5 epochs, replay 2:1, one candidate, the gate of its day: golden, recall, validation
 * accuracy ≥ stable's) as the baseline; ablations `no-accepted`, `no-wise`, `soup` (the greedy soup on), `uniform-replay`,
 * `same-replay`, `no-distill`, `no-augment`, `all-augment`, `distill-1` (distillation weight 1), and random erasing
 * (probability 0.5) added to some candidates: `erase-shifted` (the shift-augmented ones), `erase-all` (the full
 * fine-tunes), `erase-tail` (the others), `erase-every`; `looks-8` (the gate's limit before MAX_GATED). Every cycle
 * prints its candidates, one line each.
 *
 * Usage: npm run bench -- drift
 *   DRIFTS=thick,small     only these drifts
 *   DRIFT_RECIPES=search,fixed,no-wise,soup,…  any of the recipes above (default: search,fixed)
 *   DRIFT_BUDGET=150       the search's training budget per cycle, seconds (default: the trainer's)
 *   DRIFT_CYCLES=2         cycles per drift (1 or 2)
 *   DRIFT_SEED=3           the search's seed (cycle c runs with seed + c; the digits and devices stay the same)
 *   DRIFT_BOOT_EXAMPLES=N  bootstrap v1 on N MNIST digits instead of all (quick runs while developing)
 *   DRIFT_REPORT=name      bench/results/<name>.json (default drift; e.g. drift-ablation)
 *   DRIFT_BACKEND=webgpu   train on WebGPU (a machine with a GPU; default cpu)
 *   DRIFT_BASE=pytorch     v1 is not the bootstrapped TF.js model but a team's own (issue 12): the PyTorch CNN of
 *                          examples/pytorch/model.py trained in PyTorch on the same MNIST train digits (3 epochs;
 *                          test/python/make_models.py), exported by torch.onnx.export (NCHW input "image", logits
 *                          output "scores", opset 13), imported with the trainer's registerOnnxModel (as
 *                          `register --onnx --layout nchw --output logits --trainable-tail 2` does) with MNIST's
 *                          golden part, and those train digits uploaded as its base data (`base-data`), so replay
 *                          reads them from the collector; every fork gets v1, the golden set and the base data.
 *                          The digits are seen as NCHW [1, 28, 28] throughout. Writes drift-pytorch.json unless
 *                          DRIFT_REPORT says otherwise. (Default: tfjs, the bootstrapped model.)
 *   DRIFT_BASE=pytorch-multi  a team's own multi-label model: the PyTorch MLP of test/python/make_models.py (one
 *                          logit per tag: "even", "ge5", "loop", "straight"; binary cross-entropy), trained in
 *                          PyTorch on the same train digits tagged (test/helpers/multi-label.ts), registered with
 *                          `--output sigmoid --trainable-tail 2` and its base data; devices report every wrong tag
 *                          set with the right one, and upload the right predictions the policy keeps with their
 *                          predicted sets (accepted predictions, as the runtime sends them). "Accuracy" is then
 *                          exact match: the whole tag set right. Writes drift-multi.json by default.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildApp } from '@edgeloop/collector';
import { promoteCanary } from '@edgeloop/protocol';
import {
  bootstrap,
  CollectorClient,
  DEFAULT_BUDGET_SEC,
  DEFAULT_CANDIDATES,
  DIGIT_LABELS,
  DRIFTS,
  encodeExamples,
  evaluateVersion,
  loadMnist,
  pick,
  registerOnnxModel,
  retrain,
  take,
  useBackend,
  type ArtifactFile,
  type CandidateSpec,
  type ExampleSet,
  type RetrainOptions,
  type RetrainResult,
} from '../packages/trainer/src/index.js';
import { KEYS } from '../packages/trainer/test/helpers/collector.js';
import { predictAndCorrect } from '../packages/trainer/test/helpers/devices.js';
import { digitTags, reportWrongSets, TAGS } from '../packages/trainer/test/helpers/multi-label.js';
import { asNchw, makeMultiLabelTorchModel, makeTorchModels } from '../packages/trainer/test/helpers/torch.js';
import { report, type Row } from './report.js';

tf.env().set('PROD', true);
const backend = await useBackend((process.env.DRIFT_BACKEND ?? 'cpu') as 'cpu' | 'webgpu' | 'auto');
const drifts = (process.env.DRIFTS ?? Object.keys(DRIFTS).join(',')).split(',').filter(Boolean);
const recipes = (process.env.DRIFT_RECIPES ?? 'search,fixed').split(',').filter(Boolean);
const budgetSec = Number(process.env.DRIFT_BUDGET ?? DEFAULT_BUDGET_SEC);
const cycles = Number(process.env.DRIFT_CYCLES ?? 2);
/** The search's seed (cycle c uses SEED + c); the drifted digits and devices do not depend on it. */
const SEED = Number(process.env.DRIFT_SEED ?? 3);
const baseKind = process.env.DRIFT_BASE ?? 'tfjs';
if (!['tfjs', 'pytorch', 'pytorch-multi'].includes(baseKind))
  throw new Error(`unknown DRIFT_BASE "${baseKind}" (tfjs, pytorch or pytorch-multi)`);
const multi = baseKind === 'pytorch-multi';
// A PyTorch model takes the digits channels first; with one channel the bytes are the same, only the shape says it.
// The multi-label model's examples carry tag sets.
const asInput = (set: ExampleSet) => (baseKind === 'tfjs' ? set : multi ? digitTags(asNchw(set)) : asNchw(set));
const bootExamples = process.env.DRIFT_BOOT_EXAMPLES ? Number(process.env.DRIFT_BOOT_EXAMPLES) : undefined;
for (const d of drifts)
  if (!DRIFTS[d]) throw new Error(`unknown drift "${d}" (one of ${Object.keys(DRIFTS).join(', ')})`);

/** The search recipe with each default candidate changed by `change` (the experiments below). */
const searchWith = (change: (c: CandidateSpec) => CandidateSpec): Partial<RetrainOptions> => ({
  accepted: { settledMs: 0 },
  candidates: DEFAULT_CANDIDATES.map(change),
});
const RECIPES: Record<string, Partial<RetrainOptions>> = {
  search: { accepted: { settledMs: 0 } },
  'no-accepted': { accepted: false },
  fixed: { recipe: 'fixed', gate: { minGain: 0, gainZ: 0, replayTolerance: 1 } },
  'no-wise': { interpolate: false },
  soup: { soup: true },
  'uniform-replay': { balancedReplay: false },
  'same-replay': { freshReplay: false },
  'no-distill': { candidates: DEFAULT_CANDIDATES.filter((c) => c.distill === 0) },
  'no-augment': { candidates: DEFAULT_CANDIDATES.map(({ augment: _, ...c }) => c) },
  'all-augment': { candidates: DEFAULT_CANDIDATES.map((c) => (c.trainable === 'all' ? { ...c, augment: 2 } : c)) },
  'erase-shifted': searchWith((c) => (c.augment ? { ...c, erase: 0.5 } : c)),
  'erase-every': searchWith((c) => ({ ...c, erase: 0.5 })),
  'erase-tail': searchWith((c) => (c.trainable !== 'all' ? { ...c, erase: 0.5 } : c)),
  'distill-1': searchWith((c) => (c.distill > 0 ? { ...c, distill: 1 } : c)),
  'erase-all': searchWith((c) => (c.trainable === 'all' ? { ...c, erase: 0.5 } : c)),
  'looks-8': { accepted: { settledMs: 0 }, maxGated: 8 },
};
for (const r of recipes)
  if (!RECIPES[r]) throw new Error(`unknown recipe "${r}" (one of ${Object.keys(RECIPES).join(', ')})`);

console.log(
  `base: ${baseKind}; backend: ${backend.name}; drifts: ${drifts.join(', ')}; recipes: ${recipes.join(', ')}; budget ${budgetSec} s; load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
const dataDir = mkdtempSync(join(tmpdir(), 'edgeloop-drift-bench-'));
const app = await buildApp({ dataDir, seedKeys: KEYS, controller: false, rateLimit: false });
const url = await app.listen({ host: '127.0.0.1', port: 0 });
const client = new CollectorClient({ url, token: KEYS.trainer });
const admin = new CollectorClient({ url, token: KEYS.admin });

const t0 = performance.now();
const baseSetup: Record<string, unknown> = { kind: baseKind };
let baseData: Awaited<ReturnType<typeof encodeExamples>> | null = null;
if (baseKind === 'tfjs') {
  await bootstrap(client, {
    model: 'base',
    backend: backend.name,
    ...(bootExamples ? { examples: bootExamples } : {}),
  });
  console.log(`bootstrap: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
} else {
  // The team's side: train in PyTorch, export to ONNX. Then edgeloop's: register it, upload its training set.
  const train = asInput(bootExamples ? take(loadMnist('train'), bootExamples) : loadMnist('train'));
  const torch = multi ? makeMultiLabelTorchModel(train) : makeTorchModels(train, 3);
  const torchSeconds = (performance.now() - t0) / 1000;
  const onnx = new Uint8Array(readFileSync(torch.path(multi ? 'multilabel-mlp' : 'trained-cnn-opset13')));
  rmSync(torch.dir, { recursive: true, force: true });
  const t1 = performance.now();
  const registered = await registerOnnxModel(client, {
    model: 'base',
    onnx,
    labels: multi ? [...TAGS] : [...DIGIT_LABELS],
    input: { dtype: 'float32', layout: 'nchw', normalize: { scale: 1, offset: 0 } },
    output: multi ? 'sigmoid' : 'logits',
    golden: await encodeExamples(asInput(loadMnist('golden')), 'golden'),
    trainableTail: 2,
  });
  baseData = await encodeExamples(train, 'train');
  await client.putBaseData('base', baseData);
  Object.assign(baseSetup, {
    trainExamples: train.count,
    torchEpochs: multi ? 'make_models.py --multilabel' : 3,
    torchSeconds,
    registerSeconds: (performance.now() - t1) / 1000,
    parity: registered.parity,
    names: registered.names,
    opset: registered.opset,
  });
  console.log(
    `PyTorch ${multi ? 'multi-label MLP' : 'CNN'} trained on ${train.count} digits and exported: ${torchSeconds.toFixed(0)} s; registered (parity ${registered.parity.toExponential(2)}, golden ${multi ? `micro-F1 ${pct(registered.metrics['golden.microF1']!)}` : pct(registered.metrics['golden.accuracy']!)} %) with its base data: ${((performance.now() - t1) / 1000).toFixed(0)} s`,
  );
}
const base = await client.version('base', 'v1');
const baseFiles: ArtifactFile[] = await Promise.all(
  base.artifacts.map(async (a) => ({ name: a.name, format: a.format, bytes: await client.artifact(a.sha256) })),
);
const golden = (await client.golden('base'))!;

/** A model of its own, starting from the same v1, golden set (and base data) as every other. */
async function fork(model: string): Promise<void> {
  await client.publish(model, { ...base.meta, version: 'v1' }, baseFiles);
  await client.putGolden(model, golden);
  if (baseData) await client.putBaseData(model, baseData);
  await client.setRollout(model, {
    stable: 'v1',
    canary: null,
    canaryPercent: 0,
    auto: null,
    reason: 'drift bench: fork of base v1',
  });
}

const range = (set: ExampleSet, from: number, to: number) =>
  pick(
    set,
    [...Array(Math.min(to, set.count) - from).keys()].map((i) => i + from),
  );
const rows: Row[] = [];
const details: unknown[] = [];
for (const name of drifts) {
  const drifted = asInput(DRIFTS[name]!(loadMnist('drift')));
  const [round1, round2, heldOut] = [
    range(drifted, 0, 400),
    range(drifted, 400, 700),
    { name: `${name} (held out)`, set: range(drifted, 700, drifted.count) },
  ];
  for (const recipe of recipes) {
    const model = `${name}-${recipe}`;
    await fork(model);
    const accuracy = async () => (await evaluateVersion(client, model, undefined, heldOut)).accuracy;
    const goldenAccuracy = async () => (await evaluateVersion(client, model, undefined)).accuracy;
    const [before, golden0] = [await accuracy(), await goldenAccuracy()];
    const row: Row = { drift: name, recipe, before: pct(before) };
    const perCycle: unknown[] = [];
    for (let cycle = 1; cycle <= cycles; cycle++) {
      const round = cycle === 1 ? round1 : round2;
      const devices = multi
        ? {
            corrections: (
              await reportWrongSets(url, client, model, round, undefined, {
                keep: true,
                devicePrefix: `c${cycle}`,
              })
            ).reported,
            predictions: round.count,
          }
        : await predictAndCorrect(url, client, model, round, `c${cycle}`);
      const started = performance.now();
      const result: RetrainResult = await retrain(client, {
        model,
        seed: SEED + cycle,
        backend: backend.name,
        budgetSec,
        canary: { percent: 10, auto: null },
        ...RECIPES[recipe],
      });
      const seconds = (performance.now() - started) / 1000;
      if (result.status === 'published') {
        await admin.call(promoteCanary, { params: { model }, body: { reason: 'drift bench: the canary held up' } });
      }
      const [acc, gold] = [await accuracy(), await goldenAccuracy()];
      row[`corrections ${cycle}`] = devices.corrections;
      row[`after ${cycle}`] = pct(acc);
      row[`golden Δ ${cycle}`] = ((gold - golden0) * 100).toFixed(2);
      row[`gate ${cycle}`] =
        result.status === 'published'
          ? 'pass'
          : result.status === 'rejected'
            ? `FAIL (${result.gate.metrics
                .filter((m) => !m.pass)
                .map((m) => m.name)
                .join(', ')})`
            : result.status;
      row[`s ${cycle}`] = Number(seconds.toFixed(1));
      perCycle.push({
        cycle,
        devices,
        seconds,
        status: result.status,
        accuracy: acc,
        golden: gold,
        ...(result.status !== 'nothing-new'
          ? { gate: result.gate, metrics: result.metrics, candidates: result.candidates }
          : {}),
      });
      const why =
        result.status === 'rejected'
          ? ` (${result.candidates.map((c) => `#${c.candidate} ${c.gate ?? c.status}`).join('; ')}; failed: ${result.gate.metrics
              .filter((m) => !m.pass)
              .map((m) => `${m.name} ${pct(m.candidate)} < ${pct(m.threshold)}`)
              .join(', ')})`
          : '';
      // The search's candidates, one line each: what each learned, and which one the gate published.
      if (result.status !== 'nothing-new')
        for (const c of result.candidates)
          console.log(
            `  #${c.candidate} lr ${c.learningRate} ${c.trainable} ${c.replayRatio}:1 distill ${c.distill}${c.augment ? ` shift ±${c.augment}` : ''}${c.erase ? ` erase ${c.erase}` : ''}: ${c.status === 'trained' ? `α ${c.alpha}, new ${pct(c.heldOutNew!)}, replay ${pct(c.heldOutReplay!)}, score ${c.score!.toFixed(3)}` : c.status}${c.gate ? ` — gate ${c.gate}` : ''}`,
          );
      console.log(
        `${model} cycle ${cycle}: ${devices.corrections}/${devices.predictions} corrected, ${result.status} in ${seconds.toFixed(0)} s (${result.status === 'nothing-new' ? 0 : result.metrics['candidates.trained']} candidates trained)${why}; held-out ${pct(before)} → ${pct(acc)}, golden ${((gold - golden0) * 100).toFixed(2)} points`,
      );
    }
    const after1 = Number(row['after 1']) / 100;
    const final = Number(row[`after ${cycles}`]) / 100;
    row['target met'] =
      (after1 >= 0.85 || (before < 0.6 && after1 - before >= 0.25)) &&
      Number(row['golden Δ 1']) >= -0.5 &&
      row['gate 1'] === 'pass' &&
      (cycles < 2 || (final > after1 && row['gate 2'] === 'pass' && Number(row['golden Δ 2']) >= -0.5)) &&
      Math.max(...[1, 2].slice(0, cycles).map((c) => Number(row[`s ${c}`]))) <= 180;
    rows.push(row);
    details.push({ drift: name, recipe, before, golden: golden0, cycles: perCycle });
  }
}
await app.close();
rmSync(dataDir, { recursive: true, force: true });
report(
  process.env.DRIFT_REPORT ?? { tfjs: 'drift', pytorch: 'drift-pytorch', 'pytorch-multi': 'drift-multi' }[baseKind]!,
  rows,
  {
    backend,
    base: baseSetup,
    seed: SEED,
    budgetSec,
    cycles,
    loadavg: loadavg(),
    details,
  },
);
process.exit(0);

function pct(v: number): string {
  return (v * 100).toFixed(2);
}
