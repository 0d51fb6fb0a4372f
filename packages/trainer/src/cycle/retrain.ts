/**
 * One retraining cycle: freeze what was labeled since the last batch (if anything was), fine-tune the stable model
 * on the new batches plus a replay sample of earlier data, gate the candidate against stable, and publish it as a
 * canary — or publish nothing when it fails the gate.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch, GateMetric, Rollout, Version } from '@edgeloop/protocol';
import type { CollectorClient } from '../collector/client.js';
import { concat, labelCounts, pick, type ExampleSet } from '../data/examples.js';
import { hashExamples, replayHoldouts } from '../data/holdout.js';
import { decodeExamples } from '../data/wire.js';
import { TrainerError } from '../errors.js';
import { applyTemperature, expectedCalibrationError, fitTemperature, predictProbs } from '../train/calibrate.js';
import {
  evaluateStable,
  formatGate,
  GATE_DEFAULTS,
  runGate,
  type CalibrationReport,
  type GateData,
  type GateOptions,
  type GateReport,
  type GateResult,
} from './gate.js';
import {
  backoff,
  gateInTurn,
  DEFAULT_CANDIDATES,
  disposeSearch,
  setMix,
  ranked,
  searchCandidates,
  type CandidateSpec,
  type SearchResult,
} from './search.js';
import { stableModel, untrainedBatches, type StableModel } from './lineage.js';
import { canaryStep, childMeta, publishVersion, startCanary, type CanaryOptions } from './publish.js';
import {
  acceptedData,
  exportAsStable,
  finite,
  holdOut,
  joined,
  readNewData,
  replayData,
  sideBySide,
  splitAccepted,
  type Decode,
} from './cycle-data.js';
import { silent, type Reporter } from './reporter.js';
import { retrainMultiLabel } from './retrain-multi-label.js';

export interface RetrainOptions {
  model: string;
  /**
   * 'search' (default): several candidates within a time budget, interpolated with stable, the best that passes
   * the gate kept. 'fixed': one fine-tune with the options below (learning rate 3e-4, 5 epochs, replay 2:1 by
   * default), the recipe before the search.
   */
  recipe?: 'search' | 'fixed';
  /** Seconds the whole cycle may take (default DEFAULT_BUDGET_SEC); the search trains within what is left of it. */
  budgetSec?: number;
  /** The candidates to try (default DEFAULT_CANDIDATES); `maxCandidates` keeps the first N. */
  candidates?: readonly CandidateSpec[];
  maxCandidates?: number;
  /**
   * How many mixes (candidates, and smaller α for those that forgot) the gate sees before the cycle gives up (default
   * MAX_GATED); the cycle's budget also bounds it (a candidate after the first is seen only while time is left).
   */
  maxGated?: number;
  /** WiSE-FT interpolation with stable (default true). */
  interpolate?: boolean;
  /** A greedy soup of the fine-tunes joins the candidates (default false: it did not pay; see SearchOptions.soup). */
  soup?: boolean;
  /** Class-balanced replay (default true). */
  balancedReplay?: boolean;
  /** Replay other old examples in every epoch (search recipe; default true; false: the same sample every epoch). */
  freshReplay?: boolean;
  /** Pins every candidate's epochs (the fixed recipe's: default 5). */
  epochs?: number;
  batchSize?: number;
  /** Pins every candidate's learning rate (the fixed recipe's: default 3e-4). */
  learningRate?: number;
  /** Pins every candidate's replayed examples per new one (the fixed recipe's: default 2). */
  replayRatio?: number;
  gate?: GateOptions;
  /** The canary to start on success (default 10 % with DEFAULT_AUTO_POLICY); false publishes without one. */
  canary?: CanaryOptions | false;
  seed?: number;
  /**
   * Accepted predictions (search recipe): the kept predictions of stable (low-confidence ones and the sample) that no
   * user reported wrong, once `settledMs` old (default DEFAULT_SETTLED_MS), the newest `limit` (default 2000), labeled
   * with stable's answer; then those of its ancestors while fewer than `limit` are found. Split by content like the
   * new examples: trained on beside them, and held out to choose (a candidate that flips them scores lower). false:
   * not used.
   */
  accepted?: false | { settledMs?: number; limit?: number };
  /** Batch ids not to train on (watch mode: batches a rejected candidate already tried). */
  exclude?: ReadonlySet<string>;
  /** Name of the backend in use, stored with the version's trainer config. */
  backend?: string;
  reporter?: Reporter;
}

export type RetrainResult =
  | { status: 'nothing-new'; message: string }
  | {
      status: 'rejected';
      parent: string;
      batches: string[];
      gate: GateReport;
      metrics: Record<string, number>;
      candidates: CandidateRow[];
    }
  | {
      status: 'published';
      version: string;
      parent: string;
      batches: string[];
      gate: GateReport;
      metrics: Record<string, number>;
      rollout: Rollout | null;
      candidates: CandidateRow[];
    };

/** What waits to be learned, read without freezing anything. */
export interface Waiting {
  /** Labeled examples a freeze would produce now (the collector's dry run). */
  labels: number;
  /** Tied inputs that freeze would send to the review queue. */
  ties: number;
  /** Batches no version has trained on and not excluded, oldest first (frozen by a person, or left by a failed cycle). */
  unused: Batch[];
  /** Examples in `unused`. */
  unusedExamples: number;
  versions: Version[];
  batches: Batch[];
}

/** What a cycle trains on: the stable version and the batches no version has trained on. */
export interface PendingWork {
  stable: StableModel;
  versions: Version[];
  batches: Batch[];
  pending: Batch[];
  /** Labeled examples in the pending batches. */
  examples: number;
}

const examplesIn = (batches: readonly Batch[]) => batches.reduce((n, b) => n + b.counts.examples, 0);

/** Asks the collector what a freeze would produce and lists the unused batches; freezes nothing. */
export async function waitingWork(
  client: CollectorClient,
  model: string,
  exclude: ReadonlySet<string> = new Set(),
): Promise<Waiting> {
  const [pending, versions, batches] = await Promise.all([
    client.pendingLabels(model),
    client.versions(model),
    client.batches(model),
  ]);
  const unused = untrainedBatches(batches, versions, exclude);
  return {
    labels: pending.pending,
    ties: pending.counts.tiesSentToReview,
    unused,
    unusedExamples: examplesIn(unused),
    versions,
    batches,
  };
}

/**
 * Ties reach the review queue when a freeze resolves them. With no example pending that freeze makes no batch
 * (409 EL_EMPTY_BATCH) and only records the ties, so a watch that waits for more labels can still hand them to
 * the reviewers. Resolves to whether it froze.
 */
export async function sendTiesToReview(client: CollectorClient, model: string, waiting: Waiting): Promise<boolean> {
  if (waiting.labels > 0 || waiting.ties === 0) return false;
  // A label arriving between the count and this call would make a batch; the next cycle trains on it.
  await client.freezeBatch(model);
  return true;
}

/**
 * Freezes a batch only when labeled examples wait for one (`waiting`, else asked now), then lists the batches no
 * version has trained on: the new one and any frozen earlier. With only ties waiting, sends them to review.
 */
export async function pendingWork(
  client: CollectorClient,
  model: string,
  exclude: ReadonlySet<string> = new Set(),
  waiting?: Waiting,
): Promise<PendingWork> {
  const stable = await stableModel(client, model);
  waiting ??= await waitingWork(client, model, exclude);
  let { versions, batches } = waiting;
  // With only ties waiting, the freeze makes no batch and sends them to review (see sendTiesToReview).
  if (waiting.labels > 0 || waiting.ties > 0) {
    // An empty answer with labels waiting means someone froze them in between: listing again finds their batch.
    await client.freezeBatch(model);
    [versions, batches] = await Promise.all([client.versions(model), client.batches(model)]);
  }
  const pending = untrainedBatches(batches, versions, exclude);
  return { stable, versions, batches, pending, examples: examplesIn(pending) };
}

/** Runs one cycle now (if anything is new); see RetrainResult for the outcomes. */
export async function retrain(
  client: CollectorClient,
  options: RetrainOptions,
  work?: PendingWork,
): Promise<RetrainResult> {
  const r = options.reporter ?? silent;
  const { model } = options;
  const started = performance.now();
  const seed = options.seed ?? Date.now() % 2 ** 31;
  const recipe = options.recipe ?? 'search';
  work ??= await pendingWork(client, model, options.exclude);
  if (work.pending.length === 0)
    return {
      status: 'nothing-new',
      message: `nothing labeled for "${model}" since its last batch, and every batch has been trained on`,
    };
  const { stable } = work;
  const { labels, input } = stable.version.meta;
  // A multi-label model learns label sets: its own cycle (binary cross-entropy, the multi-label gate).
  if (stable.version.meta.output?.kind === 'sigmoid') return retrainMultiLabel(client, options, work);
  const decode: Decode = (examples) => decodeExamples(examples, labels, input);
  const { batchIds, fresh, golden } = await readNewData(client, work, decode, r);
  const searching = recipe === 'search';
  const {
    pool,
    earlier,
    source: baseData,
  } = await replayData(client, work, decode, searching, pick(fresh.bySplit.train, []));
  const held = searching ? replayHoldouts(pool, seed) : { select: pick(pool, []), gate: pick(pool, []), rest: pool };
  // New examples and earlier corrections (where a base data set serves as the replay, they are trained on again beside
  // the new ones, so a cycle keeps what earlier cycles learned of a drift): see holdOut.
  const { none, fit, select, gateFresh, earlierFit, earlierSelect, earlierHeld } = holdOut(
    fresh.bySplit,
    earlier,
    searching,
  );
  // Accepted predictions: the live inputs stable (and its ancestors) answered and no one reported wrong (the drifted
  // inputs it gets right, which corrections never show), split by content as the new examples are: trained on, and
  // held out to choose.
  const accepted =
    searching && options.accepted !== false
      ? await acceptedData(client, stable, work.versions, decode, options.accepted)
      : none;
  const { select: acceptedSelect, fit: acceptedFit } = splitAccepted(accepted);
  // The golden baseline travels in each version's metrics with a hash of the golden set it was measured on; a new
  // golden set starts a new baseline.
  const goldenHash = hashExamples(golden);
  const stableMetrics = stable.version.meta.metrics;
  const goldenBaseline = stableMetrics['golden.hash'] === goldenHash ? stableMetrics['golden.baseline'] : undefined;
  const gateData: GateData = {
    golden,
    fresh: gateFresh,
    replay: held.gate,
    earlier: earlierHeld,
    labelCounts: labelCounts(concat(fresh.bySplit.train, fresh.bySplit.val)),
    ...(goldenBaseline !== undefined ? { goldenBaseline } : {}),
  };
  const [fitAll, selectAll] = [joined(fit, earlierFit, acceptedFit), joined(select, earlierSelect, acceptedSelect)];

  const fixed = {
    learningRate: options.learningRate ?? 3e-4,
    maxEpochs: options.epochs ?? 5,
    replayRatio: options.replayRatio ?? 2,
    trainable: 'all' as const,
    distill: 0,
    earlyStopping: false,
  };
  const candidates =
    recipe === 'fixed'
      ? [fixed]
      : pinned(options.candidates ?? DEFAULT_CANDIDATES, options).slice(0, options.maxCandidates ?? Infinity);
  const budgetSec = options.budgetSec ?? DEFAULT_BUDGET_SEC;
  // Stable's evaluation on the gate's data, timed: each mix the gate sees costs about as much again, and the
  // search's share of the budget is what remains after a few of those, calibration and export.
  const stableNet = await stable.load();
  const evalStarted = performance.now();
  const stableEval = await evaluateStable(stableNet, gateData);
  const evalSec = (performance.now() - evalStarted) / 1000;
  const searchBudget = searchBudgetSec(budgetSec, started, evalSec);
  r.step(
    recipe === 'fixed'
      ? `fine-tuning ${stable.version.version} on ${fit.count} new examples + replay ${fixed.replayRatio}:1 (fixed recipe: learning rate ${fixed.learningRate}, ${fixed.maxEpochs} epochs)`
      : `searching ${candidates.length} candidates within ${Math.round(searchBudget)} s of the cycle's ${budgetSec} s: ${fit.count} new + ${earlierFit.count} earlier corrections + ${acceptedFit.count} accepted predictions to train on, ${select.count} + ${earlierSelect.count} earlier + ${acceptedSelect.count} accepted + ${held.select.count} replayed held out to choose, ${gateFresh.count} + ${earlierHeld.count} earlier + ${held.gate.count} replayed held out for the gate`,
  );
  const search = await searchCandidates(
    () => stable.load(),
    { fit: fitAll, select: selectAll, replay: held.rest, replaySelect: held.select },
    {
      seed,
      candidates,
      ...(recipe === 'search' ? { budgetSec: searchBudget } : {}),
      interpolate: recipe === 'search' && options.interpolate !== false,
      soup: recipe === 'search' && options.soup === true,
      balancedReplay: recipe === 'search' && options.balancedReplay !== false,
      freshReplay: recipe === 'search' && options.freshReplay !== false,
      ...(stable.config.trainableTail !== undefined ? { maxTrainableTail: stable.config.trainableTail } : {}),
      ...(input.layout ? { layout: input.layout } : {}),
      ...(recipe === 'fixed'
        ? { batchSize: options.batchSize ?? 64 }
        : options.batchSize
          ? { batchSize: options.batchSize }
          : {}),
      onCandidate: (c) =>
        r.progress(
          'search',
          Math.min(c.index + 1, candidates.length),
          candidates.length,
          c.soup
            ? `soup of ${c.soup.map((i) => `#${i + 1}`).join(' + ')}: score ${c.score.toFixed(3)}`
            : `candidate ${c.index + 1}: ${c.status === 'trained' ? `score ${c.score.toFixed(3)}` : 'skipped'}`,
        ),
    },
  );

  // The gate sees the best-scored candidates in turn and keeps the first that passes. A candidate refused only
  // for forgetting (golden, recall or replay checks) is seen again one step nearer stable (a smaller α), which
  // can only undo change: the gain check on held-out new data still has to pass at that α (see gateInTurn).
  r.step(
    `gating on ${golden.count} golden, ${gateFresh.count} held-out new, ${earlierHeld.count} held-out earlier and ${held.gate.count} held-out replayed examples`,
  );
  const net = await stable.load();
  let first: GateResult | null = null;
  const gated = new Map<number, string>();
  const chosen = await gateInTurn(
    ranked(search.candidates),
    async (c, alpha) => {
      setMix(net, search, c, alpha);
      const g = await runGate(stableEval, net, gateData, options.gate);
      gated.set(
        c.index,
        `${gated.has(c.index) ? `${gated.get(c.index)}, ` : ''}${g.report.pass ? 'pass' : `fail (${failedChecks(g)})`} at α ${alpha}`,
      );
      first ??= g;
      return g;
    },
    {
      looks: options.maxGated ?? MAX_GATED,
      steps: recipe === 'search' ? backoff : (c) => [c.alpha],
      // The cycle's budget bounds the gate too: the best candidate is always seen (with its steps towards stable),
      // the next ones only while time is left.
      timeLeft: () => recipe !== 'search' || (performance.now() - started) / 1000 <= budgetSec - 10,
    },
  );
  const table = formatCandidates(search, gated);
  r.step(table);
  const gate = chosen?.gate ?? first;
  if (!gate)
    throw new TrainerError('ELT_BAD_DATA', [
      'no candidate could be trained (the time budget is too small for even one)',
    ]);
  const common = {
    ...sideBySide('golden.accuracy', gate.candidate.golden.accuracy, gate.stable.golden.accuracy),
    ...sideBySide('new.accuracy', gate.candidate.fresh?.accuracy, gate.stable.fresh?.accuracy),
    ...sideBySide('replay.accuracy', gate.candidate.replay?.accuracy, gate.stable.replay?.accuracy),
    ...sideBySide('earlier.accuracy', gate.candidate.earlier?.accuracy, gate.stable.earlier?.accuracy),
    'train.examples': fit.count,
    'earlier.examples': earlierFit.count,
    'accepted.examples': accepted.count,
    'candidates.trained': search.candidates.filter((c) => c.status === 'trained').length,
    'search.seconds': search.seconds,
  };
  if (!chosen) {
    r.step(formatGate(gate.report));
    const metrics = finite({ ...common, 'cycle.seconds': (performance.now() - started) / 1000 });
    disposeSearch(search);
    dispose(stableNet, net);
    return {
      status: 'rejected',
      parent: stable.version.version,
      batches: batchIds,
      gate: gate.report,
      metrics,
      candidates: candidateRows(search, gated),
    };
  }
  const { candidate, alpha } = chosen;
  setMix(net, search, candidate, alpha);
  disposeSearch(search);

  // Calibration: a temperature fitted on the held-out choosing data, its effect measured on the gate's data.
  const calibration = await calibrate(net, concat(select, held.select), concat(golden, gateFresh, held.gate));
  gate.report.calibration = calibration;
  r.step(formatGate(gate.report));
  const metrics: Record<string, number> = {
    ...common,
    'chosen.alpha': alpha,
    'golden.baseline': goldenBaseline ?? gate.stable.golden.accuracy,
    'golden.hash': goldenHash,
    'calibration.temperature': calibration.temperature,
    'ece.before': calibration.ece.before,
    'ece.after': calibration.ece.after,
  };

  r.step('exporting TF.js Layers and ONNX (parity-checked on the golden inputs)');
  const exported = await exportAsStable(net, stable, golden);
  if (exported.parity) metrics['parity.maxAbsDiff'] = exported.parity.maxAbsDiff;
  dispose(stableNet, net);
  metrics['cycle.seconds'] = (performance.now() - started) / 1000;
  const version = await publishVersion(
    client,
    model,
    childMeta(stable.version, batchIds, {
      metrics: finite(metrics),
      // The output keeps its kind (a logits model keeps emitting logits) and gets the new temperature.
      output: { ...stable.version.meta.output, temperature: calibration.temperature },
      gate: gate.report,
      trainer: {
        ...stable.config,
        kind: 'fine-tune',
        // The base data this cycle replayed (a set uploaded for the model is named by its id, for lineage).
        ...(baseData && baseData !== stable.config.baseData ? { baseData } : {}),
        recipe,
        ...candidate.spec,
        ...(candidate.soup ? { soup: candidate.soup.map((i) => i + 1) } : {}),
        alpha,
        epochs: candidate.epochs,
        candidates: search.candidates.length,
        budgetSec: recipe === 'search' ? budgetSec : null,
        seed,
        backend: options.backend ?? 'cpu',
        gate: { ...GATE_DEFAULTS, ...options.gate },
      },
    }),
    exported.files,
  );
  r.step(
    `${version} (parent ${stable.version.version}) is ${candidate.soup ? `the soup of candidates ${candidate.soup.map((i) => i + 1).join(', ')}` : `candidate ${candidate.index + 1}`} at α ${alpha}, temperature ${calibration.temperature}`,
  );
  const rollout = await startCanary(
    client,
    model,
    stable.version.version,
    version,
    options.canary,
    `trainer: ${version} passed the gate against ${stable.version.version}`,
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
    candidates: candidateRows(search, gated),
  };
}

/**
 * The default time budget of a cycle, in seconds: the search gets what is left after the data, stable's evaluation,
 * the gate's looks, calibration and export, so that a cycle takes about 3 minutes on 2 CPU cores.
 */
export const DEFAULT_BUDGET_SEC = 170;

/**
 * The search's share of a cycle's budget: what remains after the time used since `started`, a few of the gate's looks
 * (each costs about `evalSec`, stable's evaluation on the gate's data), calibration and export; at least 30 %.
 */
export function searchBudgetSec(budgetSec: number, started: number, evalSec: number): number {
  return Math.max(budgetSec * 0.3, budgetSec - (performance.now() - started) / 1000 - 4 * evalSec - 10);
}

/**
 * The most mixes the gate sees in a cycle by default. Each look costs one evaluation on the gate's data (about a
 * second here). 8 cut off a candidate in the middle of its steps towards stable: on the drift suite (occlusion,
 * seed 1) the fourth-ranked one failed only per-class recall at α 0.6 when the looks ran out, the cycle was refused,
 * and with 16 it published at α 0.5, +11.8 points (BENCHMARKS.md).
 */
export const MAX_GATED = 16;

/** The checks a gate failed, by name ("golden.accuracy, golden.recall.7"). */
function failedChecks(g: GateResult): string {
  return g.report.metrics
    .filter((m) => !m.pass)
    .map((m) => m.name)
    .join(', ');
}

/** Candidates with the dimensions the caller pinned (a learning rate, epochs or replay ratio given by hand). */
export function pinned(candidates: readonly CandidateSpec[], o: RetrainOptions): CandidateSpec[] {
  return candidates.map((c) => ({
    ...c,
    ...(o.learningRate !== undefined ? { learningRate: o.learningRate } : {}),
    ...(o.epochs !== undefined ? { maxEpochs: o.epochs } : {}),
    ...(o.replayRatio !== undefined ? { replayRatio: o.replayRatio } : {}),
  }));
}

async function calibrate(model: tf.LayersModel, fitOn: ExampleSet, measureOn: ExampleSet): Promise<CalibrationReport> {
  const k = fitOn.labels.length;
  const fitted = fitTemperature(await predictProbs(model, fitOn), fitOn.y, k);
  const probs = await predictProbs(model, measureOn);
  return {
    temperature: fitted.temperature,
    ece: {
      before: expectedCalibrationError(probs, measureOn.y, k),
      after: expectedCalibrationError(applyTemperature(probs, k, fitted.temperature), measureOn.y, k),
    },
    fittedOn: fitOn.count,
    measuredOn: measureOn.count,
  };
}

/** One row per candidate, as the result and the table show them. */
export interface CandidateRow {
  candidate: number;
  /** A soup: the candidates averaged into it (its other columns are its best one's). */
  soup?: number[];
  learningRate: number;
  maxEpochs: number;
  replayRatio: number;
  trainable: string;
  distill: number;
  /** Shift augmentation of the new examples (pixels; 0: none). */
  augment: number;
  /** Random erasing's probability per new example and epoch (0: none). */
  erase: number;
  status: string;
  epochs: number;
  alpha: number | null;
  heldOutNew: number | null;
  heldOutReplay: number | null;
  score: number | null;
  seconds: number;
  /** What the gate said of it, at each α it saw (e.g. "fail at α 0.8, pass at α 0.6"). */
  gate: string | null;
}

export function candidateRows(search: SearchResult, gated: ReadonlyMap<number, string>): CandidateRow[] {
  return search.candidates.map((c) => {
    const trained = c.status === 'trained';
    const g = gated.get(c.index);
    return {
      candidate: c.index + 1,
      ...(c.soup ? { soup: c.soup.map((i) => i + 1) } : {}),
      learningRate: c.spec.learningRate,
      maxEpochs: c.spec.maxEpochs,
      replayRatio: c.spec.replayRatio,
      trainable: c.spec.trainable,
      distill: c.spec.distill,
      augment: c.spec.augment ?? 0,
      erase: c.spec.erase ?? 0,
      status: trained ? 'trained' : `skipped (${c.why})`,
      epochs: c.epochs,
      alpha: trained ? c.alpha : null,
      heldOutNew: trained ? c.selectNew : null,
      heldOutReplay: trained ? c.selectReplay : null,
      score: trained ? c.score : null,
      seconds: Number(c.seconds.toFixed(1)),
      gate: g ?? null,
    };
  });
}

/** The candidates as an aligned table, stable's held-out scores first. */
export function formatCandidates(search: SearchResult, gated: ReadonlyMap<number, string> = new Map()): string {
  const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)} %`);
  const head = [
    '#',
    'lr',
    'epochs',
    'replay',
    'trains',
    'distil',
    'shift',
    'α',
    'new',
    'replay acc',
    'score',
    's',
    'gate',
  ];
  const rows = [
    [
      'stable',
      '',
      '',
      '',
      '',
      '',
      '',
      '',
      pct(search.stable.selectNew),
      pct(search.stable.selectReplay),
      search.stable.score.toFixed(3),
      '',
      '',
    ],
    ...candidateRows(search, gated).map((c) => {
      const trained = c.status === 'trained';
      const spec = c.soup
        ? ['', '', '', '', '', '']
        : [
            String(c.learningRate),
            `${trained ? c.epochs : '—'}/${c.maxEpochs}`,
            `${c.replayRatio}:1`,
            c.trainable,
            String(c.distill),
            [c.augment ? `±${c.augment}` : '', c.erase ? `erase ${c.erase}` : ''].filter(Boolean).join(' '),
          ];
      const result = trained
        ? [
            String(c.alpha),
            pct(c.heldOutNew),
            pct(c.heldOutReplay),
            c.score!.toFixed(3),
            c.seconds.toFixed(1),
            c.gate ?? '',
          ]
        : ['', '', '', '', '', c.status];
      return [c.soup ? `${c.candidate} = soup of ${c.soup.join('+')}` : String(c.candidate), ...spec, ...result];
    }),
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [
    'candidates (held-out accuracy on new and replayed examples; score = new + replay − 5 × replay lost):',
    line(head),
    ...rows.map(line),
  ].join('\n');
}

function dispose(...models: tf.LayersModel[]): void {
  for (const m of models) m.dispose();
}

export type { GateMetric };
