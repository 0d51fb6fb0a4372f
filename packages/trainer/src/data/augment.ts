/**
 * Shift augmentation for image examples: each epoch, the new examples a candidate trains on are moved by a few
 * pixels (a random offset per example, seeded), so that a few dozen corrections teach the drift rather than those
 * exact images. Only for inputs that are images (`[h, w, c]` or, for a channels-first model, `[c, h, w]`, both sides
 * at least MIN_SIDE); edges are filled with the nearest border pixel, whatever the background value is.
 */
import { exampleSize, type ExampleSet } from './examples.js';

/** The smallest height and width that counts as an image. */
const MIN_SIDE = 8;

/** Where the height and width are in an example of `shape`; null when it is not an image. */
export function imageAxes(
  shape: readonly number[],
  layout: 'nhwc' | 'nchw' = 'nhwc',
): { h: number; w: number; c: number; channelsFirst: boolean } | null {
  if (shape.length !== 3 && !(shape.length === 2 && layout === 'nhwc')) return null;
  const channelsFirst = layout === 'nchw' && shape.length === 3;
  const [h, w, c] = channelsFirst ? [shape[1]!, shape[2]!, shape[0]!] : [shape[0]!, shape[1]!, shape[2] ?? 1];
  return h >= MIN_SIDE && w >= MIN_SIDE ? { h, w, c, channelsFirst } : null;
}

/**
 * Shifts, in place, the examples of `set` at `rows` by offsets in [−max, max] on each axis drawn from `rand`.
 * `set` must be an image set (see imageAxes).
 */
export function shiftInPlace(
  set: ExampleSet,
  rows: Iterable<number>,
  max: number,
  rand: () => number,
  layout: 'nhwc' | 'nchw' = 'nhwc',
): void {
  const axes = imageAxes(set.shape, layout);
  if (!axes || max <= 0) return;
  const { h, w, c, channelsFirst } = axes;
  const size = exampleSize(set.shape);
  const src = new Float32Array(size);
  const index = channelsFirst
    ? (r: number, col: number, ch: number) => (ch * h + r) * w + col
    : (r: number, col: number, ch: number) => (r * w + col) * c + ch;
  const clamp = (v: number, hi: number) => (v < 0 ? 0 : v > hi ? hi : v);
  for (const row of rows) {
    const dy = Math.floor(rand() * (2 * max + 1)) - max;
    const dx = Math.floor(rand() * (2 * max + 1)) - max;
    if (dy === 0 && dx === 0) continue;
    const at = row * size;
    src.set(set.x.subarray(at, at + size));
    for (let r = 0; r < h; r++) {
      const sr = clamp(r - dy, h - 1);
      for (let col = 0; col < w; col++) {
        const sc = clamp(col - dx, w - 1);
        for (let ch = 0; ch < c; ch++) set.x[at + index(r, col, ch)] = src[index(sr, sc, ch)]!;
      }
    }
  }
}
