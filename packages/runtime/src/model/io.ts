/**
 * A version's input and output conventions, compiled once when it loads: how the app's input becomes the model's
 * (scale/offset, per-channel mean/std, channels-first layout) and how the model's output becomes scored
 * probabilities (probabilities, logits, multi-label sigmoid; calibration temperature). The loader imports this
 * module when the first model loads, as it does the engines' adapters.
 */
import type { InputSpec, Manifest } from '@edgeloop/protocol';
// The subpath, not the entry: the entry's other modules would ride along into the runtime's first chunk.
import { inputSpecProblem, modelInputShape } from '@edgeloop/protocol/model-io';
import type { ModelInput } from '../types.js';
import type { Scored } from '../confidence.js';
import { RuntimeError } from '../errors.js';

export interface ModelIO {
  /** The model's input shape for one example (`[1, ...modelShape]` is fed); one array per version. */
  readonly modelShape: readonly number[];
  /** No scaling, statistics or transposition: a Float32Array input goes to the engine as is. */
  readonly identity: boolean;
  /**
   * The app's input as the model takes it, in a buffer that no run in flight holds: the one `reuse` gave back
   * last, else a new one (overlapping predictions each get their own).
   */
  toModel(raw: ModelInput): Float32Array;
  /**
   * Gives back a buffer `toModel` returned, once the engine's run on it has settled (an engine reads its input
   * only until then): the next `toModel` writes into it instead of allocating one per prediction.
   */
  reuse(x: Float32Array): void;
  /** The probabilities to score, in a reused buffer (or `out` itself): read at once. */
  probabilities(out: Float32Array): Float32Array;
  /** Multi-label scoring (`sigmoid`); `null`: one distribution, scored top-1. */
  readonly scoreMulti: ((probs: ArrayLike<number>, labels: readonly string[]) => Scored & { labels: string[] }) | null;
  /** Why the raw output of the probe input cannot be read as this kind, or `null`. */
  problem(out: ArrayLike<number>, labels: number): string | null;
}

/** The model's input: `raw * scale + offset` as float32, written into `out` (a new array without it). */
export function toModelInput(
  raw: ModelInput,
  spec: InputSpec,
  out: Float32Array = new Float32Array(raw.length),
): Float32Array {
  const { scale, offset } = spec.normalize;
  for (let i = 0; i < raw.length; i++) out[i] = raw[i]! * scale + offset;
  return out;
}

/**
 * `probs` with the version's calibration temperature applied, softmax(log p / t), in a buffer reused from call to
 * call (read it at once); `probs` itself when there is no temperature or it is 1.
 */
let tempered = new Float32Array(0);
export function temper(probs: Float32Array, t: number | undefined): Float32Array {
  if (t === undefined || t === 1) return probs;
  if (tempered.length !== probs.length) tempered = new Float32Array(probs.length);
  for (let i = 0; i < probs.length; i++) tempered[i] = Math.log(probs[i]! > 1e-30 ? probs[i]! : 1e-30);
  return softmaxInPlace(tempered, t);
}

/** softmax(z / t) over `z`, in place. */
export function softmaxInPlace(z: Float32Array, t: number): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < z.length; i++) {
    const v = z[i]! / t;
    z[i] = v;
    if (v > max) max = v;
  }
  let sum = 0;
  for (let i = 0; i < z.length; i++) sum += z[i] = Math.exp(z[i]! - max);
  for (let i = 0; i < z.length; i++) z[i]! /= sum;
  return z;
}

/** Why an output is not a probability vector over `n` labels, or `null` if it is (finite, in [0,1], sums to 1). */
export function probabilityProblem(probs: ArrayLike<number>, n: number, tolerance = 1e-3): string | null {
  if (probs.length !== n) return `${probs.length} outputs for ${n} labels`;
  let sum = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!;
    if (!Number.isFinite(p)) return `output ${i} is ${p}`;
    if (p < -tolerance || p > 1 + tolerance) return `output ${i} is ${p}, outside [0, 1]`;
    sum += p;
  }
  return Math.abs(sum - 1) > tolerance ? `outputs sum to ${sum}, not 1` : null;
}

const stat = (v: readonly number[] | undefined, c: number, fallback: number) =>
  v ? (v.length === 1 ? v[0]! : v[c]!) : fallback;

/**
 * `(raw * scale + offset − mean[c]) / std[c]` per channel `c` (the last axis of `input.shape`), moved channels
 * first for `nchw`. With one channel, channels first and last are the same order.
 */
export function channelTransform(spec: InputSpec): {
  identity: boolean;
  toModel(raw: ModelInput, out?: Float32Array): Float32Array;
} {
  const channels = spec.shape[spec.shape.length - 1]!;
  const { scale, offset, mean, std } = spec.normalize;
  // Fold the affine steps into one per channel: v * a[c] + b[c].
  const a = new Float64Array(channels);
  const b = new Float64Array(channels);
  let identity = spec.layout !== 'nchw' || channels === 1;
  for (let c = 0; c < channels; c++) {
    const s = stat(std, c, 1);
    a[c] = scale / s;
    b[c] = (offset - stat(mean, c, 0)) / s;
    if (a[c] !== 1 || b[c] !== 0) identity = false;
  }
  const nchw = spec.layout === 'nchw' && channels > 1;
  return {
    identity,
    toModel(raw, out = new Float32Array(raw.length)) {
      const pixels = raw.length / channels;
      for (let p = 0, i = 0; p < pixels; p++) {
        for (let c = 0; c < channels; c++, i++) out[nchw ? c * pixels + p : i] = raw[i]! * a[c]! + b[c]!;
      }
      return out;
    },
  };
}

let buffer = new Float32Array(0);

/** The probabilities of a logits or multi-label output, in a buffer reused from call to call. */
function probabilitiesOf(kind: 'logits' | 'sigmoid', t: number): (out: Float32Array) => Float32Array {
  return (out) => {
    if (buffer.length !== out.length) buffer = new Float32Array(out.length);
    buffer.set(out);
    if (kind === 'logits') return softmaxInPlace(buffer, t);
    for (let i = 0; i < buffer.length; i++) buffer[i] = 1 / (1 + Math.exp(-buffer[i]! / t));
    return buffer;
  };
}

/**
 * Scores a multi-label output (independent per-label probabilities). `label` and `topK` rank the labels by
 * probability; `confidence` is the certainty of the least certain yes/no decision, min over labels of
 * max(p, 1 − p), so a single label near 0.5 makes the prediction low-confidence; `margin` is 2 · confidence − 1;
 * `entropy` sums the labels' binary entropies; `labels` are those with p ≥ 0.5.
 */
export function scoreMultiLabel(
  probs: ArrayLike<number>,
  labels: readonly string[],
  k = 3,
): Scored & { labels: string[] } {
  const order = Array.from({ length: probs.length }, (_, i) => i).sort((x, y) => probs[y]! - probs[x]!);
  let confidence = 1;
  let entropy = 0;
  const yes: string[] = [];
  for (let i = 0; i < probs.length; i++) {
    const p = Math.min(1, Math.max(0, probs[i]!));
    confidence = Math.min(confidence, p >= 0.5 ? p : 1 - p);
    if (p > 0 && p < 1) entropy -= p * Math.log(p) + (1 - p) * Math.log(1 - p);
    if (p >= 0.5) yes.push(labels[i] ?? String(i));
  }
  const best = order[0] ?? 0;
  const topK = order
    .slice(0, k)
    .map((i) => ({ label: labels[i] ?? String(i), p: Math.min(1, Math.max(0, probs[i]!)) }));
  return {
    index: best,
    label: labels[best] ?? String(best),
    confidence,
    margin: 2 * confidence - 1,
    entropy,
    topK,
    labels: yes,
  };
}

/** Why logits cannot be scored: the wrong count, or a value that is not finite. */
function logitsProblem(out: ArrayLike<number>, labels: number): string | null {
  if (out.length !== labels) return `${out.length} outputs for ${labels} labels`;
  for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i]!)) return `output ${i} is ${out[i]}`;
  return null;
}

/** Compiles `manifest`'s conventions; throws `EL_RT_BAD_INPUT` for an input description that contradicts itself. */
export function compileIO(manifest: Manifest): ModelIO {
  const spec = manifest.input;
  const problem = inputSpecProblem(spec);
  if (problem) throw new RuntimeError('EL_RT_BAD_INPUT', problem);
  const kind = manifest.output?.kind ?? 'probabilities';
  const t = manifest.output?.temperature;
  const plain = !spec.normalize.mean && !spec.normalize.std && spec.layout !== 'nchw';
  const { identity, toModel } = plain
    ? {
        identity: spec.normalize.scale === 1 && spec.normalize.offset === 0,
        toModel: (raw: ModelInput, out?: Float32Array) => toModelInput(raw, spec, out),
      }
    : channelTransform(spec);
  // One spare buffer: allocating the model's input for every prediction cost more than the transform itself
  // (BENCHMARKS.md, the runtime's logits rows).
  let spare: Float32Array | null = null;
  return {
    modelShape: plain ? spec.shape : modelInputShape(spec),
    identity,
    toModel(raw) {
      const out = spare !== null && spare.length === raw.length ? spare : new Float32Array(raw.length);
      spare = null;
      return toModel(raw, out);
    },
    reuse(x) {
      spare = x;
    },
    probabilities: kind === 'probabilities' ? (out) => temper(out, t) : probabilitiesOf(kind, t ?? 1),
    scoreMulti: kind === 'sigmoid' ? scoreMultiLabel : null,
    problem: kind === 'probabilities' ? probabilitiesProblem : logitsProblem,
  };
}

/** Why the output is not a distribution, with the usual cause: a model exported without its softmax (PyTorch classifiers are). */
function probabilitiesProblem(out: ArrayLike<number>, labels: number): string | null {
  const p = probabilityProblem(out, labels);
  return p && /sum|outside/.test(p)
    ? `${p}: if the model outputs logits, publish it with meta.output.kind "logits" (or "sigmoid", multi-label)`
    : p;
}
