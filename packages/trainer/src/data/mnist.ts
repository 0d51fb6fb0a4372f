/**
 * The real MNIST digits shipped in the `mnist` package (10,000 28×28 images, values in [0, 1], white on black),
 * split deterministically so every run and every process agrees on which digit is in which part.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { murmur3_32 } from '@edgeloop/protocol';
import type { ExampleSet } from './examples.js';

/** The parts of MNIST: train (60 %), golden (15 %, never trained on), drift (15 %, for drift slices), test (10 %). */
export type MnistPart = 'train' | 'golden' | 'drift' | 'test';

export const DIGIT_LABELS: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
export const DIGIT_SHAPE: readonly number[] = [28, 28, 1];
const PIXELS = 28 * 28;

const require = createRequire(import.meta.url);
let raw: Float32Array[] | undefined;

function digits(): Float32Array[] {
  // Read the JSON files directly: the package's own `set()` shuffles with Math.random, which is not reproducible.
  raw ??= DIGIT_LABELS.map((d) => {
    const file = require.resolve(`mnist/src/digits/${d}.json`);
    return Float32Array.from((JSON.parse(readFileSync(file, 'utf8')) as { data: number[] }).data);
  });
  return raw;
}

/** Which part an MNIST digit belongs to, from a hash of its position (stable across runs and machines). */
export function mnistPartOf(digit: number, index: number): MnistPart {
  const h = murmur3_32(`mnist:${digit}:${index}`, 0) % 100;
  return h < 60 ? 'train' : h < 75 ? 'golden' : h < 90 ? 'drift' : 'test';
}

/**
 * Loads one part of MNIST (or all of it), interleaving the digits so that any prefix is roughly balanced; `limit`
 * keeps the first examples.
 */
export function loadMnist(part: MnistPart | 'all' = 'all', limit = Infinity): ExampleSet {
  const all = digits();
  const picked: { digit: number; index: number }[] = [];
  const longest = Math.max(...all.map((d) => d.length / PIXELS));
  for (let index = 0; index < longest && picked.length < limit; index++) {
    for (let digit = 0; digit < 10 && picked.length < limit; digit++) {
      if (index >= all[digit]!.length / PIXELS) continue;
      if (part === 'all' || mnistPartOf(digit, index) === part) picked.push({ digit, index });
    }
  }
  const x = new Float32Array(picked.length * PIXELS);
  const y = new Int32Array(picked.length);
  picked.forEach(({ digit, index }, i) => {
    x.set(all[digit]!.subarray(index * PIXELS, (index + 1) * PIXELS), i * PIXELS);
    y[i] = digit;
  });
  return { x, y, count: picked.length, shape: DIGIT_SHAPE, labels: DIGIT_LABELS };
}
