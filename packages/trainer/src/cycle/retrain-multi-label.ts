/**
 * One retraining cycle of a multi-label (sigmoid) model: the batches' label sets become multi-hot targets, and the
 * single-label cycle's candidate search (search.ts) learns them with binary cross-entropy on the logits beside a
 * replay of the base data and earlier batches: seeded candidates within the time budget, each stopped early and mixed
 * with stable (WiSE-FT) on held-out label sets. The multi-label gate (multi-label-gate.ts) sees the best first (one
 * that only forgot is seen again nearer stable, and halfway back: gateInTurn). The one that passes gets one
 * temperature for its per-label sigmoids, is exported keeping the output kind `sigmoid` and the ONNX names, and is
 * published as a canary.
 */
import * as tf from '@tensorflow/tfjs';
import type { CollectorClient } from '../collector/client.js';
import { concat, labelCounts, pick, type ExampleSet } from '../data/examples.js';
import { hashExamples, replayHoldouts } from '../data/holdout.js';
import { decodeExamples } from '../data/wire.js';
import { TrainerError } from '../errors.js';
import { fitSigmoidTemperature, multiLabelEce, predictLogits, targetsOf } from '../train/multi-label.js';
import { formatGate, GATE_DEFAULTS, type CalibrationReport } from './gate.js';
import {
  evaluateMultiLabelSide,
  judgeMultiLabel,
  type MultiLabelGateData,
  type MultiLabelGateResult,
} from './multi-label-gate.js';
import { canaryStep, childMeta, publishVersion, startCanary } from './publish.js';
import {
  acceptedData,
  exportAsStable,
  finite,
  holdOut,
  joined,
  readNewData,
  replayData,
  sideBySide,
  type Decode,
} from './cycle-data.js';
import { silent } from './reporter.js';
import { backoff, DEFAULT_CANDIDATES, disposeSearch, gateInTurn, ranked, searchCandidates, setMix } from './search.js';
import {
  candidateRows,
  DEFAULT_BUDGET_SEC,
  formatCandidates,
  MAX_GATED,
  pinned,
  searchBudgetSec,
  type PendingWork,
  type RetrainOptions,
  type RetrainResult,
} from './retrain.js';

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
  const decode: Decode = (examples) => decodeExamples(examples, labels, input, { multiLabel: true });
  const { batchIds, fresh, golden } = await readNewData(
    client,
    work,
    decode,
    r,
    ` (multi-label, ${labels.length} labels)`,
  );
  // As in the single-label cycle: the base data replayed, earlier corrections rehearsed beside the new ones, both held
  // out by content (see holdOut and replayData).
  const {
    pool,
    earlier,
    source: baseData,
  } = await replayData(client, work, decode, true, pick(fresh.bySplit.train, []));
  const held = replayHoldouts(pool, seed);
  const { none, fit, select, gateFresh, earlierFit, earlierSelect, earlierHeld } = holdOut(
    fresh.bySplit,
    earlier,
    true,
  );
  // Accepted predictions, as in the single-label cycle (the predicted sets of the live inputs no one reported wrong),
  // but all trained on: none is held out to choose. Held out as the single-label cycle holds them out, they pulled the
  // choice towards stable, which is right on every one, and the gate then refused what was chosen for too little gain
  // (published 6 of the drift suite's 14 cycles against 8; BENCHMARKS.md).
  const accepted =
    options.accepted !== false ? await acceptedData(client, stable, work.versions, decode, options.accepted) : none;
  const goldenHash = hashExamples(golden);
  const stableMetrics = stable.version.meta.metrics;
  const goldenBaseline =
    stableMetrics['golden.hash'] === goldenHash ? stableMetrics['golden.microF1.baseline'] : undefined;
  const allNew = concat(fresh.bySplit.train, fresh.bySplit.val);
  const gateData: MultiLabelGateData = {
    golden,
    fresh: gateFresh,
    replay: held.gate,
    earlier: earlierHeld,
    allNew,
    labelCounts: labelCounts(allNew),
    ...(goldenBaseline !== undefined ? { goldenBaseline } : {}),
  };
  const stableNet = await stable.load();
  const evalStarted = performance.now();
  const stableSide = await evaluateMultiLabelSide(stableNet, gateData);
  const evalSec = (performance.now() - evalStarted) / 1000;
  stableNet.dispose();

  // The single-label cycle's search (search.ts), on label sets: seeded candidates within the budget, each mixed with
  // stable (WiSE-FT) at the α its held-out Jaccard chooses, the gate seeing the best first.
  const candidates = pinned(options.candidates ?? DEFAULT_CANDIDATES, options).slice(
    0,
    options.maxCandidates ?? Infinity,
  );
  const budgetSec = options.budgetSec ?? DEFAULT_BUDGET_SEC;
  const searchBudget = searchBudgetSec(budgetSec, started, evalSec);
  r.step(
    `searching ${candidates.length} candidates (binary cross-entropy) within ${Math.round(searchBudget)} s of the cycle's ${budgetSec} s: ${fit.count} new + ${earlierFit.count} earlier + ${accepted.count} accepted examples to train on, replay from ${held.rest.count}, ${select.count} + ${earlierSelect.count} earlier + ${held.select.count} replayed held out to choose, ${gateFresh.count} + ${earlierHeld.count} earlier + ${held.gate.count} replayed held out for the gate`,
  );
  const search = await searchCandidates(
    () => stable.load(),
    {
      fit: joined(fit, earlierFit, accepted),
      select: joined(select, earlierSelect),
      replay: byLabelSet(held.rest),
      replaySelect: held.select,
    },
    {
      seed,
      candidates,
      budgetSec: searchBudget,
      multiLabel: true,
      interpolate: options.interpolate !== false,
      balancedReplay: options.balancedReplay !== false,
      freshReplay: options.freshReplay !== false,
      ...(stable.config.trainableTail !== undefined ? { maxTrainableTail: stable.config.trainableTail } : {}),
      ...(input.layout ? { layout: input.layout } : {}),
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
      onCandidate: (c) =>
        r.progress(
          'search',
          c.index + 1,
          candidates.length,
          `candidate ${c.index + 1}: ${c.status === 'trained' ? `score ${c.score.toFixed(3)}` : 'skipped'}`,
        ),
    },
  );

  const net = await stable.load();
  let first: MultiLabelGateResult | null = null;
  const gated = new Map<number, string>();
  const chosen = await gateInTurn(
    ranked(search.candidates),
    async (c, alpha) => {
      setMix(net, search, c, alpha);
      const g = judgeMultiLabel(stableSide, await evaluateMultiLabelSide(net, gateData), gateData, options.gate);
      gated.set(
        c.index,
        `${gated.has(c.index) ? `${gated.get(c.index)}, ` : ''}${g.report.pass ? 'pass' : 'fail'} at α ${alpha}`,
      );
      first ??= g;
      return g;
    },
    {
      looks: options.maxGated ?? MAX_GATED,
      steps: backoff,
      gain: 'new.jaccard',
      timeLeft: () => (performance.now() - started) / 1000 <= budgetSec - 10,
    },
  );
  r.step(formatCandidates(search, gated));
  const rows = candidateRows(search, gated);
  const gate = chosen?.gate ?? first;
  if (!gate) {
    disposeSearch(search);
    net.dispose();
    throw new TrainerError('ELT_BAD_DATA', [
      'no candidate could be trained (the time budget is too small for even one)',
    ]);
  }
  const common: Record<string, number> = {
    ...sideBySide('golden.microF1', gate.candidate.golden.microF1, gate.stable.golden.microF1),
    ...sideBySide('golden.exactMatch', gate.candidate.golden.exactMatch, gate.stable.golden.exactMatch),
    ...sideBySide('new.jaccard', gate.candidate.fresh?.jaccard, gate.stable.fresh?.jaccard),
    ...sideBySide('new.exactMatch', gate.candidate.fresh?.exactMatch, gate.stable.fresh?.exactMatch),
    ...sideBySide('replay.microF1', gate.candidate.replay?.microF1, gate.stable.replay?.microF1),
    ...sideBySide('earlier.jaccard', gate.candidate.earlier?.jaccard, gate.stable.earlier?.jaccard),
    'train.examples': fit.count,
    'earlier.examples': earlierFit.count,
    'accepted.examples': accepted.count,
    'candidates.trained': search.candidates.filter((c) => c.status === 'trained').length,
  };
  if (!chosen) {
    r.step(formatGate(gate.report));
    disposeSearch(search);
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
  const { candidate, alpha } = chosen;
  setMix(net, search, candidate, alpha);
  disposeSearch(search);

  // One temperature for every label's sigmoid, fitted on the held-out choosing data, measured on the gate's.
  const chosenOn = joined(select, held.select);
  const fitOn = chosenOn.count ? chosenOn : gateFresh;
  const measureOn = joined(golden, gateFresh, held.gate);
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
        ...candidate.spec,
        alpha,
        epochs: candidate.epochs,
        candidates: candidates.length,
        budgetSec,
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

/**
 * The set with each example's class (`y`, which balanced replay samples evenly) made its label set's: every distinct
 * set one class, in order of first appearance. The label sets themselves (`yMulti`, the targets) are unchanged.
 */
export function byLabelSet(set: ExampleSet): ExampleSet {
  const k = set.labels.length;
  const ids = new Map<string, number>();
  const y = new Int32Array(set.count);
  for (let i = 0; i < set.count; i++) {
    const key = Array.from(set.yMulti!.subarray(i * k, (i + 1) * k), (v) => (v > 0.5 ? 1 : 0)).join('');
    y[i] = ids.get(key) ?? ids.set(key, ids.size).get(key)!;
  }
  return { ...set, y };
}
