/**
 * Augmentation for image examples: each epoch, the new examples a candidate trains on are moved by a few pixels (a
 * random offset per example, seeded), and may have a random rectangle erased (random erasing), so that a few dozen
 * corrections teach the drift rather than those exact images. Only for inputs that are images (`[h, w, c]` or, for a
 * channels-first model, `[c, h, w]`, both sides at least MIN_SIDE); a shift fills its edges with the nearest border
 * pixel and an erased rectangle takes the image's background (the mean of its border pixels), whatever the
 * background value is.
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

/** An image set's sides, its example size, and where pixel (r, col, ch) is within an example; null if not an image. */
function pixelIndex(set: ExampleSet, layout: 'nhwc' | 'nchw') {
  const axes = imageAxes(set.shape, layout);
  if (!axes) return null;
  const { h, w, c, channelsFirst } = axes;
  const index = channelsFirst
    ? (r: number, col: number, ch: number) => (ch * h + r) * w + col
    : (r: number, col: number, ch: number) => (r * w + col) * c + ch;
  return { h, w, c, size: exampleSize(set.shape), index };
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
  const image = pixelIndex(set, layout);
  if (!image || max <= 0) return;
  const { h, w, c, size, index } = image;
  const src = new Float32Array(size);
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

/** Random erasing's rectangle: its area as a share of the image, and its aspect ratio (Zhong et al. 2020). */
const ERASE_AREA = [0.02, 0.25] as const;
const ERASE_ASPECT = [0.3, 1 / 0.3] as const;

/**
 * Random erasing (Zhong et al. 2020; Cutout, DeVries & Taylor 2017), in place: each example of `set` at `rows`, with
 * probability `p`, has a rectangle of 2–25 % of its area (aspect ratio 0.3–3.3, at a random place) set to its
 * background, per channel the mean of its border pixels. A model then learns not to lean on any one part of the
 * input: what a finger, a sticker, glare or a crop hides. `set` must be an image set (see imageAxes).
 */
export function eraseInPlace(
  set: ExampleSet,
  rows: Iterable<number>,
  p: number,
  rand: () => number,
  layout: 'nhwc' | 'nchw' = 'nhwc',
): void {
  const image = pixelIndex(set, layout);
  if (!image || p <= 0) return;
  const { h, w, c, size, index } = image;
  const [logLo, logHi] = [Math.log(ERASE_ASPECT[0]), Math.log(ERASE_ASPECT[1])];
  for (const row of rows) {
    if (rand() >= p) continue;
    const area = (ERASE_AREA[0] + rand() * (ERASE_AREA[1] - ERASE_AREA[0])) * h * w;
    const aspect = Math.exp(logLo + rand() * (logHi - logLo));
    const eh = Math.max(1, Math.min(h, Math.round(Math.sqrt(area * aspect))));
    const ew = Math.max(1, Math.min(w, Math.round(Math.sqrt(area / aspect))));
    const top = Math.floor(rand() * (h - eh + 1));
    const left = Math.floor(rand() * (w - ew + 1));
    const x = set.x.subarray(row * size, (row + 1) * size);
    for (let ch = 0; ch < c; ch++) {
      let sum = 0;
      for (let col = 0; col < w; col++) sum += x[index(0, col, ch)]! + x[index(h - 1, col, ch)]!;
      for (let r = 1; r < h - 1; r++) sum += x[index(r, 0, ch)]! + x[index(r, w - 1, ch)]!;
      const background = sum / (2 * w + 2 * (h - 2));
      for (let r = top; r < top + eh; r++)
        for (let col = left; col < left + ew; col++) x[index(r, col, ch)] = background;
    }
  }
}
