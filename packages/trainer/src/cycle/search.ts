/**
 * Candidate search: one cycle trains several seeded fine-tunes of the stable model (learning rate, epochs with
 * early stopping, replay ratio, how much of the network trains, distillation), interpolates each one with stable in
 * weight space (WiSE-FT, Wortsman et al. 2022) and scores every candidate on held-out data it never trained on: new
 * examples (did it learn the drift?) and replayed old ones (did it forget?). The gate then sees the best first.
 *
 * What decides: the held-out new accuracy plus the held-out replay accuracy, with every point of replay accuracy
 * lost below stable's counted five times, so that a candidate that forgets loses to one that learns a little less
 * (the gate allows golden accuracy half a point of loss, and learning a drift is worth little if it costs that).
 */
import * as tf from '@tensorflow/tfjs';
import { concat, mulberry32, pick, type ExampleSet } from '../data/examples.js';
import { predictProbs } from '../train/calibrate.js';
import { predictLabels } from '../train/evaluate.js';
import { fitModel } from '../train/fit.js';
import { evaluateMultiLabel, predictLogits } from '../train/multi-label.js';

/** How much of the network a candidate trains: the last weighted layer, the last half of them, or all. */
export type Trainable = 'head' | 'tail' | 'all';

export interface CandidateSpec {
  learningRate: number;
  /** Epochs at most; early stopping on the held-out data usually ends sooner. */
  maxEpochs: number;
  /** Replayed old examples per new training example. */
  replayRatio: number;
  trainable: Trainable;
  /** Weight of stable's outputs in the targets of replayed examples (0: their labels alone). */
  distill: number;
  /**
   * Shift the new examples by up to this many pixels in every epoch (image inputs; 0 or absent: no augmentation).
   * With a frozen base, their features are computed again each epoch.
   */
  augment?: number;
  /**
   * Random erasing: the probability that a new example has a random rectangle set to its background in an epoch
   * (image inputs; 0 or absent: none). See data/augment.ts.
   */
  erase?: number;
  /** Stop early on the held-out data (default true); false runs every epoch (the fixed recipe). */
  earlyStopping?: boolean;
}

/**
 * The default candidates, cheapest-to-learn first. Chosen on the drift suite (BENCHMARKS.md): full fine-tunes at
 * 1e-3–3e-3 with about as many replayed as new examples learn most drifts; a small head-only and a tail fine-tune
 * cover drifts the features already separate; a low-rate, replay-heavy one is the cautious fallback. Two full
 * fine-tunes shift their new examples by up to 2 pixels each epoch (image inputs): that learned thin strokes where
 * no unaugmented candidate passed the gate, and lost to unaugmented ones on thick strokes and occlusion, so the
 * held-out choice decides between both kinds.
 */
export const DEFAULT_CANDIDATES: readonly CandidateSpec[] = [
  { learningRate: 1e-3, maxEpochs: 12, replayRatio: 3, trainable: 'all', distill: 0.5 },
  { learningRate: 1e-2, maxEpochs: 12, replayRatio: 2, trainable: 'tail', distill: 0 },
  { learningRate: 3e-3, maxEpochs: 12, replayRatio: 2, trainable: 'all', distill: 0.5 },
  { learningRate: 1e-3, maxEpochs: 12, replayRatio: 3, trainable: 'all', distill: 0, augment: 2 },
  { learningRate: 3e-3, maxEpochs: 12, replayRatio: 3, trainable: 'tail', distill: 0.5 },
  { learningRate: 1e-2, maxEpochs: 15, replayRatio: 1, trainable: 'head', distill: 0 },
  { learningRate: 3e-4, maxEpochs: 12, replayRatio: 2, trainable: 'all', distill: 0 },
  { learningRate: 3e-3, maxEpochs: 12, replayRatio: 1, trainable: 'all', distill: 0, augment: 2 },
];

/** The mixing coefficients tried for each candidate (1: the fine-tune itself; 0 would be stable). */
export const WISE_ALPHAS: readonly number[] = [1, 0.8, 0.6, 0.4, 0.25];

/** How many points of held-out new accuracy one point of held-out replay accuracy lost is worth. */
const FORGETTING_WEIGHT = 5;

export interface SearchData {
  /** New examples to train on. */
  fit: ExampleSet;
  /** Held-out new examples: early stopping, the choice between candidates and the mixing coefficient. */
  select: ExampleSet;
  /** Old examples to replay (sampled per candidate). */
  replay: ExampleSet;
  /** Held-out old examples, for the same choices. */
  replaySelect: ExampleSet;
}

export interface SearchOptions {
  seed: number;
  candidates?: readonly CandidateSpec[];
  /** Seconds of training the search may take; candidates that would not fit are skipped (default: no limit). */
  budgetSec?: number;
  /** Interpolate with stable (WiSE-FT; default true). */
  interpolate?: boolean;
  /**
   * Average the fine-tunes into a greedy soup (Wortsman et al. 2022, "Model soups"; default false): the best-scored
   * fine-tune, then each next one whose weights, averaged in, do not lower the held-out score. A soup of two or more
   * joins the candidates as one more, with its own mixing coefficient; the ranking decides between it and the rest.
   * Off by default: on the drift suite it did not pay (BENCHMARKS.md: the four cycles that published a soup sum to
   * −0.5 points against single fine-tunes), since it chooses its ingredients on the small held-out set that also
   * ranks it.
   */
  soup?: boolean;
  /** Sample the replay evenly over classes (default true); false samples it uniformly. */
  balancedReplay?: boolean;
  /**
   * Replay other old examples in every epoch (default true): the replay sample is drawn for all of a candidate's
   * epochs and each epoch trains on the next window of it (as many as the replay ratio asks for). False replays the
   * same sample every epoch.
   */
  freshReplay?: boolean;
  /** Held-out replay accuracy may drop this much before it counts against a candidate (default 0). */
  tolerance?: number;
  /**
   * A multi-label (sigmoid) model: candidates learn label sets with binary cross-entropy on the logits, distillation
   * mixes stable's per-label probabilities into the replayed sets, and "accuracy" is the mean Jaccard index of
   * predicted and true label sets.
   */
  multiLabel?: boolean;
  /** The model's input layout, for shift augmentation (default nhwc). */
  layout?: 'nhwc' | 'nchw';
  /** Never train more than the last N weighted layers (the stable version's `trainableTail`). */
  maxTrainableTail?: number;
  batchSize?: number;
  onCandidate?: (c: Candidate) => void;
}

export interface Candidate {
  index: number;
  /** A soup's spec is its best-scored ingredient's. */
  spec: CandidateSpec;
  /** A soup: the indexes of the fine-tunes averaged into it, best-scored first. */
  soup?: number[];
  status: 'trained' | 'skipped';
  /** Why it was skipped (the budget). */
  why?: string;
  epochs: number;
  /** The chosen mixing coefficient (1: no interpolation). */
  alpha: number;
  /** Held-out accuracies of the chosen mix: new examples and replayed ones. */
  selectNew: number;
  selectReplay: number;
  score: number;
  seconds: number;
  /** The chosen mix's weights (disposed by disposeSearch). */
  weights: tf.Tensor[] | null;
  /** The fine-tune's own weights (α = 1), for other mixes with stable. */
  tuned: tf.Tensor[] | null;
}

export interface SearchResult {
  candidates: Candidate[];
  /** Stable's held-out accuracies, the reference of every score. */
  stable: { selectNew: number; selectReplay: number; score: number };
  /** Stable's weights, the other end of every mix (disposed by disposeSearch). */
  stableWeights: tf.Tensor[];
  seconds: number;
}

/** Trains and scores the candidates; `load` gives a fresh instance of the stable model each call. */
export async function searchCandidates(
  load: () => Promise<tf.LayersModel>,
  data: SearchData,
  options: SearchOptions,
): Promise<SearchResult> {
  const started = performance.now();
  const specs = options.candidates ?? DEFAULT_CANDIDATES;
  const tolerance = options.tolerance ?? 0;
  const interpolate = options.interpolate ?? true;
  const stableModel = await load();
  const stableWeights = stableModel.getWeights().map((w) => w.clone());
  const multi = options.multiLabel === true;
  const accuracy = async (m: tf.LayersModel, set: ExampleSet) =>
    set.count === 0
      ? 0
      : multi
        ? (await evaluateMultiLabel(m, set)).jaccard
        : countRight(await predictLabels(m, set), set) / set.count;
  const evalStarted = performance.now();
  const stable = {
    selectNew: await accuracy(stableModel, data.select),
    selectReplay: await accuracy(stableModel, data.replaySelect),
    score: 0,
  };
  const scoreOf = (selectNew: number, selectReplay: number) =>
    selectNew + selectReplay - FORGETTING_WEIGHT * Math.max(0, stable.selectReplay - tolerance - selectReplay);
  stable.score = scoreOf(stable.selectNew, stable.selectReplay);
  // The soup scores up to one mix per other fine-tune and one per mixing coefficient: time kept for it.
  const soupReserve = options.soup
    ? ((performance.now() - evalStarted) / 1000) * (specs.length + WISE_ALPHAS.length)
    : 0;
  const scoreModel = async (m: tf.LayersModel) => {
    const [n, r] = [await accuracy(m, data.select), await accuracy(m, data.replaySelect)];
    return { selectNew: n, selectReplay: r, score: scoreOf(n, r) };
  };
  const weightedLayers = stableModel.layers.filter((l) => l.weights.length > 0).length;
  const tailOf = (t: Trainable): number | undefined => {
    const cap = options.maxTrainableTail;
    const want = t === 'head' ? 1 : t === 'tail' ? Math.max(1, Math.ceil(weightedLayers / 2)) : undefined;
    return want === undefined ? cap : cap === undefined ? want : Math.min(want, cap);
  };
  const replays = new Map<string, { set: ExampleSet; probs: Float32Array | null }>();
  const candidates: Candidate[] = [];
  let secondsPerSample: number | null = null;

  for (const [index, spec] of specs.entries()) {
    // Per epoch, `window` replayed examples; with fresh replay the sample holds a window for each epoch, and a
    // balanced sample is drawn class by class in turn, so every window of it is balanced too.
    const window = Math.round(data.fit.count * spec.replayRatio);
    const epochsOfReplay = (options.freshReplay ?? true) ? spec.maxEpochs : 1;
    const replayKey = `${spec.replayRatio}×${epochsOfReplay}`;
    let replay = replays.get(replayKey);
    if (!replay) {
      replay = {
        set: sampleReplay(data.replay, window * epochsOfReplay, options.seed, options.balancedReplay ?? true),
        probs: null,
      };
      replays.set(replayKey, replay);
    }
    const perEpoch = data.fit.count + Math.min(window, replay.set.count);
    const samples = perEpoch * spec.maxEpochs * (spec.trainable === 'all' ? 1 : spec.trainable === 'tail' ? 0.6 : 0.25);
    const elapsed = (performance.now() - started) / 1000;
    if (
      options.budgetSec !== undefined &&
      secondsPerSample !== null &&
      elapsed + samples * secondsPerSample > options.budgetSec - soupReserve
    ) {
      const c: Candidate = {
        index,
        spec,
        status: 'skipped',
        why: `budget: ${Math.round(elapsed)} of ${options.budgetSec} s used, this one needs about ${Math.round(samples * secondsPerSample)} s`,
        epochs: 0,
        alpha: 0,
        selectNew: 0,
        selectReplay: 0,
        score: -Infinity,
        seconds: 0,
        weights: null,
        tuned: null,
      };
      candidates.push(c);
      options.onCandidate?.(c);
      continue;
    }
    const t0 = performance.now();
    const model = await load();
    const train = replay.set.count ? concat(data.fit, replay.set) : data.fit;
    let targets: Float32Array | undefined;
    if (spec.distill > 0 && replay.set.count) {
      replay.probs ??= multi
        ? (await predictLogits(stableModel, replay.set)).map((z) => 1 / (1 + Math.exp(-z)))
        : await predictProbs(stableModel, replay.set);
      targets = softTargets(data.fit, replay.set, replay.probs, spec.distill);
    }
    const tail = tailOf(spec.trainable);
    const fit = await fitModel(model, train, {
      epochs: spec.maxEpochs,
      batchSize: options.batchSize ?? 32,
      learningRate: spec.learningRate,
      seed: options.seed + index,
      ...(multi ? { loss: 'sigmoid' as const } : {}),
      ...(tail !== undefined ? { trainableTail: tail } : {}),
      ...(targets ? { targets } : {}),
      ...(replay.set.count > window ? { rotate: { always: data.fit.count, window } } : {}),
      ...(spec.augment || spec.erase
        ? {
            augment: {
              rows: data.fit.count,
              shift: spec.augment ?? 0,
              ...(spec.erase ? { erase: spec.erase } : {}),
              ...(options.layout ? { layout: options.layout } : {}),
            },
          }
        : {}),
      ...(spec.earlyStopping !== false
        ? { earlyStopping: { score: async (m: tf.LayersModel) => (await scoreModel(m)).score, patience: 3 } }
        : {}),
    });
    const tuned = model.getWeights().map((w) => w.clone());
    const { best, weights } = await wiseFt(model, tuned);
    model.dispose();
    const seconds = (performance.now() - t0) / 1000;
    if (spec.trainable === 'all' && secondsPerSample === null)
      secondsPerSample = seconds / Math.max(1, perEpoch * fit.epochs);
    secondsPerSample ??= seconds / Math.max(1, samples);
    const c: Candidate = {
      index,
      spec,
      status: 'trained',
      epochs: fit.epochs,
      alpha: best.alpha,
      selectNew: best.selectNew,
      selectReplay: best.selectReplay,
      score: best.score,
      seconds,
      weights,
      tuned,
    };
    candidates.push(c);
    options.onCandidate?.(c);
  }
  if (options.soup) {
    const soup = await greedySoup(candidates, stableModel, scoreModel);
    if (soup) {
      const t0 = performance.now();
      stableModel.setWeights(soup.tuned);
      const { best, weights } = await wiseFt(stableModel, soup.tuned);
      const c: Candidate = {
        index: specs.length,
        spec: candidates[soup.members[0]!]!.spec,
        soup: soup.members,
        status: 'trained',
        epochs: 0,
        alpha: best.alpha,
        selectNew: best.selectNew,
        selectReplay: best.selectReplay,
        score: best.score,
        seconds: soup.seconds + (performance.now() - t0) / 1000,
        weights,
        tuned: soup.tuned,
      };
      candidates.push(c);
      options.onCandidate?.(c);
    }
  }
  stableModel.dispose();
  return { candidates, stable, stableWeights, seconds: (performance.now() - started) / 1000 };

  /** WiSE-FT: the mix of stable and fine-tuned weights that scores best on the held-out data. */
  async function wiseFt(model: tf.LayersModel, tuned: tf.Tensor[]) {
    model.setWeights(tuned);
    let best = { alpha: 1, ...(await scoreModel(model)) };
    if (interpolate) {
      for (const alpha of WISE_ALPHAS.filter((a) => a !== 1)) {
        const mixed = mix(stableWeights, tuned, alpha);
        model.setWeights(mixed);
        tf.dispose(mixed);
        const s = await scoreModel(model);
        if (s.score > best.score) best = { alpha, ...s };
      }
    }
    return { best, weights: best.alpha === 1 ? tuned : mix(stableWeights, tuned, best.alpha) };
  }
}

/**
 * A greedy soup of the trained fine-tunes (α = 1): the best-scored one, then each next in score order whose weights,
 * averaged in with equal weight, score at least as well on the held-out data. Null when no second one joins.
 */
export async function greedySoup(
  candidates: readonly Candidate[],
  model: tf.LayersModel,
  scoreModel: (m: tf.LayersModel) => Promise<{ score: number }>,
): Promise<{ members: number[]; tuned: tf.Tensor[]; seconds: number } | null> {
  const started = performance.now();
  const order = ranked(candidates);
  if (order.length < 2) return null;
  const mean = (members: readonly Candidate[]) =>
    tf.tidy(() => members[0]!.tuned!.map((_, i) => tf.addN(members.map((m) => m.tuned![i]!)).div(members.length)));
  const scoreOf = async (weights: tf.Tensor[]) => {
    model.setWeights(weights);
    return (await scoreModel(model)).score;
  };
  let members = [order[0]!];
  let soup = order[0]!.tuned!.map((w) => w.clone());
  let score = await scoreOf(soup);
  for (const c of order.slice(1)) {
    const trial = mean([...members, c]);
    const s = await scoreOf(trial);
    if (s >= score) {
      tf.dispose(soup);
      [members, soup, score] = [[...members, c], trial, s];
    } else tf.dispose(trial);
  }
  if (members.length < 2) {
    tf.dispose(soup);
    return null;
  }
  return { members: members.map((m) => m.index), tuned: soup, seconds: (performance.now() - started) / 1000 };
}

/** Trained candidates, best score first (ties: the earlier one). */
export function ranked(candidates: readonly Candidate[]): Candidate[] {
  return candidates.filter((c) => c.status === 'trained').sort((a, b) => b.score - a.score || a.index - b.index);
}

/** Frees every tensor a search holds. */
export function disposeSearch(search: SearchResult): void {
  for (const c of search.candidates) {
    if (c.weights && c.weights !== c.tuned) tf.dispose(c.weights);
    if (c.tuned) tf.dispose(c.tuned);
  }
  tf.dispose(search.stableWeights);
}

/**
 * The mixes the gate may see for a candidate, in order: its chosen α, then each smaller α of WISE_ALPHAS (a step
 * towards stable, when the chosen mix forgot too much).
 */
export function backoff(c: Candidate): number[] {
  return [c.alpha, ...WISE_ALPHAS.filter((a) => a < c.alpha)];
}

/** What gateInTurn reads of a gate's verdict. */
interface Verdict {
  report: { pass: boolean; metrics: readonly { name: string; pass: boolean }[] };
}

/**
 * Shows candidates to the gate, best-ranked first, and keeps the first mix that passes. Each candidate is seen at
 * `steps(c)` in turn (its chosen α, then smaller ones: see backoff) while it fails only for forgetting (any check
 * but the gain, `options.gain`, default `new.accuracy`, which a step towards stable could only lower). When a step
 * passes after one that forgot, the α halfway between them is seen too and kept if it passes: the most of the
 * fine-tune that the forgetting checks allow, for one more look. At most `looks` looks in all; a candidate after the
 * first is seen only while `timeLeft()`.
 */
export async function gateInTurn<G extends Verdict>(
  candidates: readonly Candidate[],
  look: (c: Candidate, alpha: number) => Promise<G>,
  options: { looks: number; steps: (c: Candidate) => number[]; timeLeft: () => boolean; gain?: string },
): Promise<{ candidate: Candidate; gate: G; alpha: number } | null> {
  let looks = options.looks;
  for (const [rank, c] of candidates.entries()) {
    if (looks <= 0 || (rank > 0 && !options.timeLeft())) break;
    let forgot: number | null = null;
    for (const alpha of options.steps(c)) {
      if (looks-- <= 0) break;
      const g = await look(c, alpha);
      if (g.report.pass) {
        const halfway = forgot === null ? null : Math.round(((forgot + alpha) / 2) * 100) / 100;
        if (halfway !== null && looks-- > 0) {
          const h = await look(c, halfway);
          if (h.report.pass) return { candidate: c, gate: h, alpha: halfway };
        }
        return { candidate: c, gate: g, alpha };
      }
      if (g.report.metrics.some((m) => m.name === (options.gain ?? 'new.accuracy') && !m.pass)) break;
      forgot = alpha;
    }
  }
  return null;
}

/** Sets `net` to candidate `c` mixed with stable at `alpha` (its chosen mix when `alpha` is the chosen α). */
export function setMix(net: tf.LayersModel, search: SearchResult, c: Candidate, alpha: number): void {
  const weights = alpha === c.alpha ? c.weights! : mix(search.stableWeights, c.tuned!, alpha);
  net.setWeights(weights);
  if (weights !== c.weights) tf.dispose(weights);
}

/**
 * `(1 − alpha) · a + alpha · b`, weight by weight, computed as `a + alpha · (b − a)`: a weight the fine-tune left as
 * it was (a frozen layer) stays bit for bit what it was.
 */
export function mix(a: readonly tf.Tensor[], b: readonly tf.Tensor[], alpha: number): tf.Tensor[] {
  return tf.tidy(() => a.map((w, i) => w.add(b[i]!.sub(w).mul(alpha))));
}

function countRight(predicted: Int32Array, set: ExampleSet): number {
  let n = 0;
  for (let i = 0; i < set.count; i++) if (predicted[i] === set.y[i]) n++;
  return n;
}

/**
 * `want` examples of `pool`, seeded: balanced takes them evenly over the classes present (each class without
 * repetition while it lasts), otherwise uniformly without repetition.
 */
export function sampleReplay(pool: ExampleSet, want: number, seed: number, balanced: boolean): ExampleSet {
  want = Math.min(want, pool.count);
  if (want <= 0) return pick(pool, []);
  const rand = mulberry32(seed ^ 0x5eed);
  const shuffle = (xs: number[]) => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  };
  if (!balanced) return pick(pool, shuffle([...Array(pool.count).keys()]).slice(0, want));
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < pool.count; i++)
    (byClass.get(pool.y[i]!) ?? byClass.set(pool.y[i]!, []).get(pool.y[i]!)!).push(i);
  const queues = [...byClass.keys()].sort((a, b) => a - b).map((k) => shuffle(byClass.get(k)!));
  const picked: number[] = [];
  for (let round = 0; picked.length < want; round++) {
    for (const q of queues) {
      if (picked.length >= want) break;
      if (q.length) picked.push(q[round % q.length]!);
    }
  }
  return pick(pool, picked);
}

/**
 * The labels of the new examples (one-hot, or their label sets), then labels mixed with stable's outputs for the
 * replayed ones (its softmax, or its per-label sigmoids).
 */
function softTargets(fresh: ExampleSet, replay: ExampleSet, stableProbs: Float32Array, weight: number): Float32Array {
  const k = fresh.labels.length;
  const out = new Float32Array((fresh.count + replay.count) * k);
  const labels = (set: ExampleSet, i: number, row: number, w: number) => {
    if (set.yMulti) for (let j = 0; j < k; j++) out[row + j]! += w * set.yMulti[i * k + j]!;
    else out[row + set.y[i]!]! += w;
  };
  for (let i = 0; i < fresh.count; i++) labels(fresh, i, i * k, 1);
  for (let i = 0; i < replay.count; i++) {
    const row = (fresh.count + i) * k;
    for (let j = 0; j < k; j++) out[row + j] = weight * stableProbs[i * k + j]!;
    labels(replay, i, row, 1 - weight);
  }
  return out;
}
