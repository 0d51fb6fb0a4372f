/**
 * Multi-label (sigmoid) models: their evaluation, loss and calibration. Such a model emits one logit per label and
 * the runtime decides each label on its own, p = sigmoid(z / T) ≥ 0.5, so the metrics here judge label sets: exact
 * match, mean Jaccard (|predicted ∩ true| / |predicted ∪ true|, 1 when both are empty), micro-F1 over every
 * (example, label) decision, and per-label recall. Calibration fits the one temperature T the runtime divides every
 * logit by, minimising the binary cross-entropy, and reports the per-label binary ECE averaged over labels.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ExampleSet } from '../data/examples.js';
import { TrainerError } from '../errors.js';
import { minimizeOverTemperature, predictProbs } from './calibrate.js';

export interface MultiLabelEvaluation {
  count: number;
  /** Share of examples whose predicted label set is exactly the true one. */
  exactMatch: number;
  /** Mean Jaccard index of predicted and true label sets. */
  jaccard: number;
  /** F1 of every (example, label) decision together. */
  microF1: number;
  /** Per label: the share of examples it applies to that the model says it does (null when it applies to none). */
  recall: Record<string, number | null>;
  /** Each example's Jaccard index (the gain's significance compares them example by example). */
  perExample: Float32Array;
}

/** Every example's logits (`count × labels`). A sigmoid model's output is its logits: the runtime applies sigmoid. */
export function predictLogits(model: tf.LayersModel, data: ExampleSet): Promise<Float32Array> {
  return predictProbs(model, data);
}

/** The multi-hot targets of a multi-label set; throws ELT_BAD_DATA for a single-label one. */
export function targetsOf(set: ExampleSet): Float32Array {
  if (!set.yMulti) throw new TrainerError('ELT_BAD_DATA', ['a multi-label model needs examples with label sets']);
  return set.yMulti;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/**
 * Scores `logits` against the set's label sets. A label applies when sigmoid(z / T) ≥ 0.5, that is when z ≥ 0 whatever
 * the (positive) temperature, so calibration never changes these metrics.
 */
export function scoreLabelSets(logits: Float32Array, set: ExampleSet): MultiLabelEvaluation {
  const y = targetsOf(set);
  const k = set.labels.length;
  const perExample = new Float32Array(set.count);
  const hits = new Array<number>(k).fill(0);
  const positives = new Array<number>(k).fill(0);
  let [tp, fp, fn, exact, jaccard] = [0, 0, 0, 0, 0];
  for (let n = 0; n < set.count; n++) {
    let [inter, union, wrong] = [0, 0, 0];
    for (let j = 0; j < k; j++) {
      const truth = y[n * k + j]! > 0.5;
      const said = logits[n * k + j]! >= 0;
      if (truth) positives[j]!++;
      if (truth && said) {
        inter++;
        hits[j]!++;
        tp++;
      }
      if (truth || said) union++;
      if (truth !== said) wrong++;
      if (said && !truth) fp++;
      if (truth && !said) fn++;
    }
    perExample[n] = union === 0 ? 1 : inter / union;
    jaccard += perExample[n]!;
    if (wrong === 0) exact++;
  }
  const recall: Record<string, number | null> = {};
  set.labels.forEach((label, j) => (recall[label] = positives[j] ? hits[j]! / positives[j]! : null));
  const count = set.count;
  return {
    count,
    exactMatch: count ? exact / count : 0,
    jaccard: count ? jaccard / count : 0,
    microF1: tp + fp + fn === 0 ? 1 : (2 * tp) / (2 * tp + fp + fn),
    recall,
    perExample,
  };
}

/** Evaluates a multi-label model on `set`. */
export async function evaluateMultiLabel(model: tf.LayersModel, set: ExampleSet): Promise<MultiLabelEvaluation> {
  return scoreLabelSets(await predictLogits(model, set), set);
}

/** Mean binary cross-entropy of sigmoid(z / t) against the multi-hot targets, over every (example, label). */
export function binaryCrossEntropy(logits: Float32Array, targets: Float32Array, t = 1): number {
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const z = logits[i]! / t;
    // log(1 + e^z) − y z, written to stay finite for large |z|.
    sum += Math.max(z, 0) - z * targets[i]! + Math.log1p(Math.exp(-Math.abs(z)));
  }
  return logits.length ? sum / logits.length : 0;
}

/**
 * Calibration error of the per-label probabilities sigmoid(z / t): for each label, the binary ECE (the gap between
 * the mean probability and the share of positives over `bins` equal-width probability bins, weighted by their
 * examples), averaged over the labels.
 */
export function multiLabelEce(logits: Float32Array, targets: Float32Array, k: number, t = 1, bins = 15): number {
  const count = logits.length / k;
  if (!count) return 0;
  let total = 0;
  for (let j = 0; j < k; j++) {
    const conf = new Float64Array(bins);
    const pos = new Float64Array(bins);
    const n = new Float64Array(bins);
    for (let e = 0; e < count; e++) {
      const p = sigmoid(logits[e * k + j]! / t);
      const b = Math.min(bins - 1, Math.floor(p * bins));
      conf[b]! += p;
      pos[b]! += targets[e * k + j]!;
      n[b]!++;
    }
    let ece = 0;
    for (let b = 0; b < bins; b++) if (n[b]) ece += Math.abs(conf[b]! - pos[b]!);
    total += ece / count;
  }
  return total / k;
}

/**
 * Fits the temperature of the per-label sigmoids on held-out logits by minimising the binary cross-entropy over log T
 * in [1/20, 20] (golden-section search). T = 1 when there is nothing to fit on or scaling would not lower the loss.
 */
export function fitSigmoidTemperature(
  logits: Float32Array,
  targets: Float32Array,
): { temperature: number; bce: { before: number; after: number } } {
  const before = binaryCrossEntropy(logits, targets);
  if (logits.length === 0) return { temperature: 1, bce: { before, after: before } };
  const t = Number(minimizeOverTemperature((t) => binaryCrossEntropy(logits, targets, t)).toFixed(4));
  const after = binaryCrossEntropy(logits, targets, t);
  return after < before
    ? { temperature: t, bce: { before, after } }
    : { temperature: 1, bce: { before, after: before } };
}
