/**
 * One retraining cycle of a multi-label (sigmoid) model: the batches' label sets become multi-hot targets, a few
 * fine-tunes of stable (one per learning rate) learn them with binary cross-entropy on the logits beside a replay of
 * the base data and earlier batches, each stopped early on held-out label sets, and the multi-label gate
 * (multi-label-gate.ts) sees the best first (one that only forgot is seen again nearer stable, WiSE-FT). The one that
 * passes gets one temperature for its per-label sigmoids, is exported keeping the output kind `sigmoid` and the ONNX
 * names, and is published as a canary.
 */
import * as tf from '@tensorflow/tfjs';
import type { CollectorClient } from '../collector/client.js';
import { concat, labelCounts, pick, type ExampleSet } from '../data/examples.js';
import { hashExamples, replayHoldouts, splitByContent } from '../data/holdout.js';
import { decodeExamples } from '../data/wire.js';
import { TrainerError } from '../errors.js';
import { fitModel } from '../train/fit.js';
import {
  evaluateMultiLabel,
  fitSigmoidTemperature,
  multiLabelEce,
  predictLogits,
  targetsOf,
} from '../train/multi-label.js';
import { formatGate, GATE_DEFAULTS, type CalibrationReport } from './gate.js';
import { trainedBatches } from './lineage.js';
import {
  evaluateMultiLabelSide,
  judgeMultiLabel,
  type MultiLabelGateData,
  type MultiLabelGateResult,
} from './multi-label-gate.js';
import { canaryStep, childMeta, publishVersion, startCanary } from './publish.js';
import { exportAsStable, finite, HOLDOUT, readNewData, sideBySide } from './cycle-data.js';
import { silent } from './reporter.js';
import { mix } from './search.js';
import type { CandidateRow, PendingWork, RetrainOptions, RetrainResult } from './retrain.js';

/** The learning rates tried, one fine-tune each (a learning rate given by hand is the only one). */
export const MULTI_LABEL_LEARNING_RATES: readonly number[] = [3e-3, 1e-3];
/** Mixing coefficients a candidate refused only for forgetting is seen again at (1: the fine-tune itself). */
const ALPHAS: readonly number[] = [1, 0.6, 0.35];

interface Trained {
  index: number;
  learningRate: number;
  epochs: number;
  score: number;
  selectNew: number;
  selectReplay: number;
  seconds: number;
  tuned: tf.Tensor[];
}

/** Runs one multi-label cycle on `work` (called by `retrain` for a sigmoid stable version). */
export async function retrainMultiLabel(
  client: CollectorClient,
  options: RetrainOptions,
  work: PendingWork,
): Promise<RetrainResult> {
  const r = options.reporter ?? silent;
  const { model } = options;
  const started = performance.now();
  const seed = options.seed ?? Date.now() % 2 ** 31;
  const { stable } = work;
  const { labels, input } = stable.version.meta;
  const decode = (examples: Parameters<typeof decodeExamples>[0]) =>
    decodeExamples(examples, labels, input, { multiLabel: true });
  const { batchIds, fresh, golden } = await readNewData(
    client,
    work,
    decode,
    r,
    ` (multi-label, ${labels.length} labels)`,
  );

  const [gateExtra, select, fit] = splitByContent(fresh.bySplit.train, [
    HOLDOUT.gate,
    HOLDOUT.gate + HOLDOUT.select,
  ]) as [ExampleSet, ExampleSet, ExampleSet];
  const gateFresh = gateExtra.count ? concat(fresh.bySplit.val, gateExtra) : fresh.bySplit.val;
  const { pool, source: baseData } = await replayPool(client, work, decode);
  const held = replayHoldouts(pool, seed);
  const goldenHash = hashExamples(golden);
  const stableMetrics = stable.version.meta.metrics;
  const goldenBaseline =
    stableMetrics['golden.hash'] === goldenHash ? stableMetrics['golden.microF1.baseline'] : undefined;
  const allNew = concat(fresh.bySplit.train, fresh.bySplit.val);
  const gateData: MultiLabelGateData = {
    golden,
    fresh: gateFresh,
    replay: held.gate,
    allNew,
    labelCounts: labelCounts(allNew),
    ...(goldenBaseline !== undefined ? { goldenBaseline } : {}),
  };
  const stableNet = await stable.load();
  const stableSide = await evaluateMultiLabelSide(stableNet, gateData);
  const stableWeights = stableNet.getWeights().map((w) => w.clone());
  stableNet.dispose();

  const rates = options.learningRate !== undefined ? [options.learningRate] : MULTI_LABEL_LEARNING_RATES;
  const maxEpochs = options.epochs ?? 15;
  const replayRatio = options.replayRatio ?? 2;
  const tail = stable.config.trainableTail;
  const trainable = tail === undefined ? 'all' : `last ${tail}`;
  const budgetSec = options.budgetSec ?? 170;
  r.step(
    `fine-tuning ${rates.length} candidate(s) with binary cross-entropy: ${fit.count} new examples + replay ${replayRatio}:1 of ${held.rest.count}, ${select.count} + ${held.select.count} replayed held out to choose, ${gateFresh.count} + ${held.gate.count} replayed held out for the gate`,
  );
  const trainSet = held.rest.count ? concat(fit, held.rest) : fit;
  const newSelect = select;
  const replaySelect = held.select;
  const score = async (net: tf.LayersModel) => {
    const a = newSelect.count ? (await evaluateMultiLabel(net, newSelect)).jaccard : 0;
    const b = replaySelect.count ? (await evaluateMultiLabel(net, replaySelect)).jaccard : 0;
    return { score: a + b, selectNew: a, selectReplay: b };
  };
  const trained: Trained[] = [];
  const skipped: { index: number; learningRate: number; why: string }[] = [];
  for (const [index, learningRate] of rates.entries()) {
    if (index > 0 && (performance.now() - started) / 1000 > budgetSec * 0.6) {
      skipped.push({ index, learningRate, why: 'over the time budget' });
      continue;
    }
    const t0 = performance.now();
    const net = await stable.load();
    const result = await fitModel(net, trainSet, {
      loss: 'sigmoid',
      epochs: maxEpochs,
      batchSize: options.batchSize ?? 32,
      learningRate,
      seed: seed + index,
      ...(tail !== undefined ? { trainableTail: tail } : {}),
      ...(held.rest.count ? { rotate: { always: fit.count, window: Math.ceil(replayRatio * fit.count) } } : {}),
      ...(newSelect.count || replaySelect.count
        ? { earlyStopping: { score: async (m: tf.LayersModel) => (await score(m)).score, patience: 3 } }
        : {}),
    });
    const s = await score(net);
    trained.push({
      index,
      learningRate,
      epochs: result.bestEpoch ?? result.epochs,
      ...s,
      seconds: (performance.now() - t0) / 1000,
      tuned: net.getWeights().map((w) => w.clone()),
    });
    net.dispose();
    r.progress(
      'search',
      index + 1,
      rates.length,
      `candidate ${index + 1} (lr ${learningRate}): score ${s.score.toFixed(3)}`,
    );
  }

  const net = await stable.load();
  let chosen: { c: Trained; alpha: number; gate: MultiLabelGateResult } | null = null;
  let first: MultiLabelGateResult | null = null;
  const gated = new Map<number, string>();
  for (const c of [...trained].sort((a, b) => b.score - a.score || a.index - b.index)) {
    for (const alpha of ALPHAS) {
      const weights = mix(stableWeights, c.tuned, alpha);
      net.setWeights(weights);
      tf.dispose(weights);
      const g = judgeMultiLabel(stableSide, await evaluateMultiLabelSide(net, gateData), gateData, options.gate);
      gated.set(
        c.index,
        `${gated.has(c.index) ? `${gated.get(c.index)}, ` : ''}${g.report.pass ? 'pass' : 'fail'} at α ${alpha}`,
      );
      first ??= g;
      if (g.report.pass) chosen = { c, alpha, gate: g };
      // Only forgetting is worth a step towards stable: a missing gain would only grow.
      if (g.report.pass || g.report.metrics.some((m) => m.name === 'new.jaccard' && !m.pass)) break;
    }
    if (chosen) break;
  }
  const rows = candidateRows(trained, skipped, gated, { maxEpochs, replayRatio, trainable });
  const gate = chosen?.gate ?? first;
  if (!gate) throw new TrainerError('ELT_BAD_DATA', ['no candidate could be trained']);
  const common: Record<string, number> = {
    ...sideBySide('golden.microF1', gate.candidate.golden.microF1, gate.stable.golden.microF1),
    ...sideBySide('golden.exactMatch', gate.candidate.golden.exactMatch, gate.stable.golden.exactMatch),
    ...sideBySide('new.jaccard', gate.candidate.fresh?.jaccard, gate.stable.fresh?.jaccard),
    ...sideBySide('new.exactMatch', gate.candidate.fresh?.exactMatch, gate.stable.fresh?.exactMatch),
    ...sideBySide('replay.microF1', gate.candidate.replay?.microF1, gate.stable.replay?.microF1),
    'train.examples': fit.count,
    'candidates.trained': trained.length,
  };
  const release = () => {
    tf.dispose(stableWeights);
    for (const c of trained) tf.dispose(c.tuned);
  };
  if (!chosen) {
    r.step(formatGate(gate.report));
    release();
    net.dispose();
    return {
      status: 'rejected',
      parent: stable.version.version,
      batches: batchIds,
      gate: gate.report,
      metrics: finite({ ...common, 'cycle.seconds': (performance.now() - started) / 1000 }),
      candidates: rows,
    };
  }
  const { c: candidate, alpha } = chosen;
  {
    const weights = mix(stableWeights, candidate.tuned, alpha);
    net.setWeights(weights);
    tf.dispose(weights);
  }
  release();

  // One temperature for every label's sigmoid, fitted on the held-out choosing data, measured on the gate's.
  const fitOn = concatNonEmpty(newSelect, replaySelect) ?? gateFresh;
  const measureOn = concatNonEmpty(golden, gateFresh, held.gate)!;
  const calibration = await calibrateSigmoid(net, fitOn, measureOn);
  gate.report.calibration = calibration;
  r.step(formatGate(gate.report));

  r.step('exporting TF.js Layers and ONNX (parity-checked on the golden inputs), output kind sigmoid');
  const exported = await exportAsStable(net, stable, golden);
  net.dispose();
  const metrics: Record<string, number> = {
    ...common,
    'chosen.alpha': alpha,
    'golden.microF1.baseline': goldenBaseline ?? gate.stable.golden.microF1,
    'golden.hash': goldenHash,
    'calibration.temperature': calibration.temperature,
    'ece.before': calibration.ece.before,
    'ece.after': calibration.ece.after,
    ...(exported.parity ? { 'parity.maxAbsDiff': exported.parity.maxAbsDiff } : {}),
    'cycle.seconds': (performance.now() - started) / 1000,
  };
  const version = await publishVersion(
    client,
    model,
    childMeta(stable.version, batchIds, {
      metrics: finite(metrics),
      output: { ...stable.version.meta.output, kind: 'sigmoid', temperature: calibration.temperature },
      gate: gate.report,
      trainer: {
        ...stable.config,
        kind: 'fine-tune',
        loss: 'sigmoid-bce',
        ...(baseData && baseData !== stable.config.baseData ? { baseData } : {}),
        recipe: 'multi-label',
        learningRate: candidate.learningRate,
        maxEpochs,
        replayRatio,
        alpha,
        epochs: candidate.epochs,
        candidates: rates.length,
        seed,
        backend: options.backend ?? 'cpu',
        gate: { ...GATE_DEFAULTS, ...options.gate },
      },
    }),
    exported.files,
  );
  r.step(
    `${version} (parent ${stable.version.version}) is candidate ${candidate.index + 1} at α ${alpha}, temperature ${calibration.temperature}`,
  );
  const rollout = await startCanary(
    client,
    model,
    stable.version.version,
    version,
    options.canary,
    `trainer: ${version} passed the multi-label gate against ${stable.version.version}`,
  );
  if (rollout) r.step(canaryStep(rollout));
  return {
    status: 'published',
    version,
    parent: stable.version.version,
    batches: batchIds,
    gate: gate.report,
    metrics,
    rollout,
    candidates: rows,
  };
}

/**
 * The replay pool: the base data uploaded for the model and the batches earlier versions trained on (their
 * training split), decoded as label sets. Empty when there is neither.
 */
async function replayPool(
  client: CollectorClient,
  work: PendingWork,
  decode: (examples: Parameters<typeof decodeExamples>[0]) => ReturnType<typeof decodeExamples>,
): Promise<{ pool: ExampleSet; source: string | null }> {
  const uploaded = await client.baseData(work.stable.version.model);
  const base = decode(uploaded?.examples.map((e) => ({ ...e, split: 'train' as const })) ?? []).bySplit.train;
  const earlier = await Promise.all(
    trainedBatches(work.batches, work.versions).map(
      async (b) => decode(await client.batchExamples(b.id)).bySplit.train,
    ),
  );
  const parts = [...earlier, base].filter((s) => s.count > 0);
  return {
    pool: parts.length ? concat(...parts) : pick(base, []),
    source: uploaded && base.count > 0 ? `base-data:${uploaded.id}` : null,
  };
}

/** Fits the sigmoid temperature on `fitOn` and measures the per-label ECE before and after on `measureOn`. */
async function calibrateSigmoid(
  net: tf.LayersModel,
  fitOn: ExampleSet,
  measureOn: ExampleSet,
): Promise<CalibrationReport> {
  const fitted = fitSigmoidTemperature(await predictLogits(net, fitOn), targetsOf(fitOn));
  const logits = await predictLogits(net, measureOn);
  const k = measureOn.labels.length;
  return {
    temperature: fitted.temperature,
    ece: {
      before: multiLabelEce(logits, targetsOf(measureOn), k),
      after: multiLabelEce(logits, targetsOf(measureOn), k, fitted.temperature),
    },
    fittedOn: fitOn.count,
    measuredOn: measureOn.count,
  };
}

function concatNonEmpty(...sets: ExampleSet[]): ExampleSet | null {
  const kept = sets.filter((s) => s.count > 0);
  return kept.length ? concat(...kept) : null;
}

function candidateRows(
  trained: readonly Trained[],
  skipped: readonly { index: number; learningRate: number; why: string }[],
  gated: ReadonlyMap<number, string>,
  spec: { maxEpochs: number; replayRatio: number; trainable: string },
): CandidateRow[] {
  const common = {
    maxEpochs: spec.maxEpochs,
    replayRatio: spec.replayRatio,
    trainable: spec.trainable,
    distill: 0,
    augment: 0,
    erase: 0,
  };
  return [
    ...trained.map((c) => ({
      candidate: c.index + 1,
      learningRate: c.learningRate,
      ...common,
      status: 'trained',
      epochs: c.epochs,
      alpha: 1,
      heldOutNew: c.selectNew,
      heldOutReplay: c.selectReplay,
      score: c.score,
      seconds: Number(c.seconds.toFixed(1)),
      gate: gated.get(c.index) ?? null,
    })),
    ...skipped.map((c) => ({
      candidate: c.index + 1,
      learningRate: c.learningRate,
      ...common,
      status: `skipped (${c.why})`,
      epochs: 0,
      alpha: null,
      heldOutNew: null,
      heldOutReplay: null,
      score: null,
      seconds: 0,
      gate: null,
    })),
  ].sort((a, b) => a.candidate - b.candidate);
}
