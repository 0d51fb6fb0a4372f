/**
 * Held-out parts of a cycle's data. New examples are split by a hash of their content, so an input keeps its part
 * in every cycle and on every machine (as the collector's train/validation split does); replay data is split by a
 * seeded shuffle, since a different slice per seed does no harm there.
 */
import { createHash } from 'node:crypto';
import { exampleSize, pick, shuffled, type ExampleSet } from './examples.js';

/**
 * Splits `set` into consecutive parts by a content hash in [0, 100): part i takes the examples whose hash falls
 * below `cuts[i]` (and at or above the previous cut); the last part takes the rest.
 */
export function splitByContent(set: ExampleSet, cuts: readonly number[]): ExampleSet[] {
  const size = exampleSize(set.shape);
  const parts: number[][] = Array.from({ length: cuts.length + 1 }, () => []);
  for (let i = 0; i < set.count; i++) {
    const bytes = new Uint8Array(set.x.buffer, set.x.byteOffset + i * size * 4, size * 4);
    const h = createHash('sha256').update(bytes).digest().readUInt32BE(0) % 100;
    let p = cuts.findIndex((c) => h < c);
    if (p < 0) p = cuts.length;
    parts[p]!.push(i);
  }
  return parts.map((idx) => pick(set, idx));
}

/** A 48-bit hash of a set's inputs and labels, as a number (it travels in a version's numeric metrics). */
export function hashExamples(set: ExampleSet): number {
  const h = createHash('sha256');
  h.update(new Uint8Array(set.x.buffer, set.x.byteOffset, set.count * exampleSize(set.shape) * 4));
  h.update(new Uint8Array(set.y.buffer, set.y.byteOffset, set.count * 4));
  if (set.yMulti) h.update(new Uint8Array(set.yMulti.buffer, set.yMulti.byteOffset, set.count * set.labels.length * 4));
  return h.digest().readUIntBE(0, 6);
}

/**
 * Two held-out slices of `pool` (each `fraction` of it, at most `max`) and the rest, seeded. A pool too small to
 * spare them (under 50 examples) is all kept for replay and the slices are empty.
 */
export function replayHoldouts(
  pool: ExampleSet,
  seed: number,
  fraction = 0.15,
  max = 600,
): { select: ExampleSet; gate: ExampleSet; rest: ExampleSet } {
  if (pool.count < 50) return { select: pick(pool, []), gate: pick(pool, []), rest: pool };
  const n = Math.min(max, Math.floor(pool.count * fraction));
  const all = shuffled(pool, seed ^ 0x401d);
  const range = (from: number, to: number) =>
    pick(
      all,
      [...Array(to - from).keys()].map((i) => i + from),
    );
  return { select: range(0, n), gate: range(n, 2 * n), rest: range(2 * n, all.count) };
}
