/**
 * ExampleSet: labeled examples as one flat Float32Array, the shape every TF.js and ONNX call here starts from.
 */
import * as tf from '@tensorflow/tfjs';
import { TrainerError } from '../errors.js';
import { exampleSize, mulberry32, type ExampleSet } from './set.js';

export { exampleSize, mulberry32, type ExampleSet };

/** The examples at `indices`, in that order. */
export function pick(set: ExampleSet, indices: readonly number[]): ExampleSet {
  const size = exampleSize(set.shape);
  const x = new Float32Array(indices.length * size);
  const y = new Int32Array(indices.length);
  const k = set.labels.length;
  const yMulti = set.yMulti ? new Float32Array(indices.length * k) : undefined;
  indices.forEach((src, dst) => {
    x.set(set.x.subarray(src * size, (src + 1) * size), dst * size);
    y[dst] = set.y[src]!;
    yMulti?.set(set.yMulti!.subarray(src * k, (src + 1) * k), dst * k);
  });
  return { x, y, ...(yMulti ? { yMulti } : {}), count: indices.length, shape: set.shape, labels: set.labels };
}

/** The first `n` examples. */
export function take(set: ExampleSet, n: number): ExampleSet {
  return pick(set, [...Array(Math.min(n, set.count)).keys()]);
}

/** All examples of `sets` one after another; they must share shape and labels. */
export function concat(...sets: ExampleSet[]): ExampleSet {
  const first = sets[0];
  if (!first) throw new TrainerError('ELT_BAD_DATA', ['nothing to concatenate']);
  for (const s of sets) {
    if (s.shape.join('x') !== first.shape.join('x'))
      throw new TrainerError('ELT_BAD_DATA', [`shape ${s.shape.join('x')} ≠ ${first.shape.join('x')}`]);
    if (s.labels.join('\u0000') !== first.labels.join('\u0000'))
      throw new TrainerError('ELT_BAD_DATA', ['label lists differ']);
    if (!s.yMulti !== !first.yMulti)
      throw new TrainerError('ELT_BAD_DATA', ['a multi-label set and a single-label set cannot be concatenated']);
  }
  const size = exampleSize(first.shape);
  const count = sets.reduce((a, s) => a + s.count, 0);
  const x = new Float32Array(count * size);
  const y = new Int32Array(count);
  const k = first.labels.length;
  const yMulti = first.yMulti ? new Float32Array(count * k) : undefined;
  let at = 0;
  for (const s of sets) {
    x.set(s.x.subarray(0, s.count * size), at * size);
    y.set(s.y.subarray(0, s.count), at);
    yMulti?.set(s.yMulti!.subarray(0, s.count * k), at * k);
    at += s.count;
  }
  return { x, y, ...(yMulti ? { yMulti } : {}), count, shape: first.shape, labels: first.labels };
}

/**
 * How many examples of each label `set` holds, keyed by label (every label present, 0 when absent); in a multi-label
 * set, how many examples each label applies to.
 */
export function labelCounts(set: ExampleSet): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(set.labels.map((l) => [l, 0]));
  const k = set.labels.length;
  if (set.yMulti) {
    for (let i = 0; i < set.count * k; i++) if (set.yMulti[i]! > 0.5) out[set.labels[i % k]!]!++;
    return out;
  }
  for (let i = 0; i < set.count; i++) out[set.labels[set.y[i]!]!]!++;
  return out;
}

/** A deterministic shuffle (mulberry32) so runs with the same seed see the same order. */
export function shuffled(set: ExampleSet, seed: number): ExampleSet {
  const order = [...Array(set.count).keys()];
  const rand = mulberry32(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return pick(set, order);
}

/** The inputs as a `[count, ...shape]` tensor (the caller disposes it). */
export function inputTensor(set: ExampleSet, from = 0, to = set.count): tf.Tensor {
  const size = exampleSize(set.shape);
  return tf.tensor(set.x.subarray(from * size, to * size), [to - from, ...set.shape], 'float32');
}

/** The labels as a one-hot `[count, labels]` tensor (the caller disposes it). */
export function oneHotTensor(set: ExampleSet, from = 0, to = set.count): tf.Tensor {
  return tf.tidy(() => tf.oneHot(tf.tensor1d(set.y.subarray(from, to), 'int32'), set.labels.length).toFloat());
}
