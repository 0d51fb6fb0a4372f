/**
 * Temperature scaling (Guo et al., 2017): one scalar T fitted on held-out data so that the confidences a model
 * reports match how often it is right. The runtime thresholds those confidences to decide what to log, so a model
 * that says 0.99 when it is right 80 % of the time hides its own mistakes from the loop.
 *
 * The models here output probabilities, so T is applied to their logarithms: softmax(log p / T) is what
 * softmax(z / T) gives for logits z (log p differs from z by a constant per example). The runtime applies the
 * same formula to whatever the engine returns.
 */
import * as tf from '@tensorflow/tfjs';
import { inputTensor, type ExampleSet } from '../data/examples.js';

/** Every example's output row (`count × labels`), predicted in chunks. */
export async function predictProbs(model: tf.LayersModel, data: ExampleSet, chunk = 256): Promise<Float32Array> {
  const k = data.labels.length;
  const out = new Float32Array(data.count * k);
  for (let from = 0; from < data.count; from += chunk) {
    const to = Math.min(data.count, from + chunk);
    const p = model.predict(inputTensor(data, from, to)) as tf.Tensor;
    out.set((await p.data()) as Float32Array, from * k);
    p.dispose();
  }
  return out;
}

const TINY = 1e-30;

/** `probs` (rows of `k`) with temperature `t` applied: each row is softmax(log p / t). */
export function applyTemperature(probs: Float32Array, k: number, t: number): Float32Array {
  const out = new Float32Array(probs.length);
  for (let at = 0; at < probs.length; at += k) {
    let max = -Infinity;
    for (let i = 0; i < k; i++) max = Math.max(max, Math.log(Math.max(probs[at + i]!, TINY)) / t);
    let sum = 0;
    for (let i = 0; i < k; i++) sum += out[at + i] = Math.exp(Math.log(Math.max(probs[at + i]!, TINY)) / t - max);
    for (let i = 0; i < k; i++) out[at + i]! /= sum;
  }
  return out;
}

/** Mean negative log-likelihood of the true labels `y` under `probs` at temperature `t`. */
export function nll(probs: Float32Array, y: Int32Array, k: number, t = 1): number {
  const scaled = t === 1 ? probs : applyTemperature(probs, k, t);
  let sum = 0;
  for (let n = 0; n < y.length; n++) sum -= Math.log(Math.max(scaled[n * k + y[n]!]!, TINY));
  return y.length ? sum / y.length : 0;
}

/**
 * Expected calibration error: the gap between confidence (the top probability) and accuracy, averaged over
 * `bins` equal-width confidence bins weighted by how many examples fall in each.
 */
export function expectedCalibrationError(probs: Float32Array, y: Int32Array, k: number, bins = 15): number {
  const conf = new Float64Array(bins);
  const hits = new Float64Array(bins);
  const count = new Float64Array(bins);
  for (let n = 0; n < y.length; n++) {
    let best = 0;
    for (let i = 1; i < k; i++) if (probs[n * k + i]! > probs[n * k + best]!) best = i;
    const p = probs[n * k + best]!;
    const b = Math.min(bins - 1, Math.floor(p * bins));
    conf[b]! += p;
    hits[b]! += best === y[n] ? 1 : 0;
    count[b]!++;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) if (count[b]) ece += Math.abs(conf[b]! - hits[b]!);
  return y.length ? ece / y.length : 0;
}

export interface Calibration {
  temperature: number;
  /** Held-out NLL before and after. */
  nll: { before: number; after: number };
}

/**
 * Fits T on held-out outputs by minimising the NLL over log T in [1/20, 20] (golden-section search; the NLL is
 * unimodal in T). Returns T = 1 when there is nothing to fit on or scaling would not lower the NLL.
 */
export function fitTemperature(probs: Float32Array, y: Int32Array, k: number): Calibration {
  const before = nll(probs, y, k);
  if (y.length === 0) return { temperature: 1, nll: { before, after: before } };
  const t = minimizeOverTemperature((t) => nll(probs, y, k, t));
  const after = nll(probs, y, k, t);
  return after < before
    ? { temperature: Number(t.toFixed(4)), nll: { before, after } }
    : { temperature: 1, nll: { before, after: before } };
}

/** The temperature in [1/20, 20] that minimises `loss`: a golden-section search on log T (40 steps). */
export function minimizeOverTemperature(loss: (t: number) => number): number {
  const f = (logT: number) => loss(Math.exp(logT));
  let [a, b] = [Math.log(1 / 20), Math.log(20)];
  const g = (Math.sqrt(5) - 1) / 2;
  let [c, d] = [b - g * (b - a), a + g * (b - a)];
  let [fc, fd] = [f(c), f(d)];
  for (let i = 0; i < 40; i++) {
    if (fc < fd) {
      [b, d, fd] = [d, c, fc];
      c = b - g * (b - a);
      fc = f(c);
    } else {
      [a, c, fc] = [c, d, fd];
      d = a + g * (b - a);
      fd = f(d);
    }
  }
  return Math.exp((a + b) / 2);
}
