/**
 * The plain-data side of ExampleSet, with no TensorFlow.js import: the drift transforms (`drift.ts`) build on it,
 * so the demo's browser bundle can use them (`@edgeloop/trainer/drift`).
 */

/**
 * Labeled examples: `x` holds `count` examples of `shape` back to back, `y[i]` indexes `labels`. A multi-label set
 * (a sigmoid model's) also has `yMulti`, its label sets multi-hot (`count × labels`, 1 where a label applies); its `y`
 * then holds each example's first label that applies (0 when none does), for code that only shuffles or splits.
 */
export interface ExampleSet {
  x: Float32Array;
  y: Int32Array;
  yMulti?: Float32Array;
  count: number;
  /** One example's shape, without the batch dimension. */
  shape: readonly number[];
  labels: readonly string[];
}

/** Number of values in one example of `shape`. */
export function exampleSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A seeded PRNG in [0, 1): small, fast, and good enough for sampling and shuffling. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
