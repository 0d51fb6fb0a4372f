/**
 * Drifted versions of image examples, the kinds of change a deployed model meets (another pen, a digit drawn off
 * centre, a tilted or small drawing, a noisy sensor, a finger over part of it): the drift suite, the tests and the
 * benchmarks build correction batches from them and check that a retrain learns them. Every transform works on
 * `[h, w, c]` examples, keeps values in the set's range, and is deterministic (noise and occlusion take a seed).
 * Plain TypeScript with no TensorFlow.js: the demo's simulated users draw with them in the browser
 * (`@edgeloop/trainer/drift`).
 */
import { exampleSize, mulberry32, type ExampleSet } from './set.js';

export type { ExampleSet };

function dims(set: ExampleSet): [number, number, number] {
  const [h, w, c = 1] = set.shape as number[];
  return [h!, w!, c];
}

/** Applies `f(value, r, c, ch, n)` image by image into a new set (`f` reads the source through `at`). */
function mapPixels(
  set: ExampleSet,
  f: (at: (r: number, c: number, ch: number) => number, r: number, c: number, ch: number, n: number) => number,
): ExampleSet {
  const [h, w, chs] = dims(set);
  const size = exampleSize(set.shape);
  const out = new Float32Array(set.count * size);
  for (let n = 0; n < set.count; n++) {
    const base = n * size;
    const at = (r: number, c: number, ch: number) =>
      r < 0 || r >= h || c < 0 || c >= w ? 0 : set.x[base + (r * w + c) * chs + ch]!;
    for (let r = 0; r < h; r++)
      for (let c = 0; c < w; c++)
        for (let ch = 0; ch < chs; ch++) out[base + (r * w + c) * chs + ch] = f(at, r, c, ch, n);
  }
  return { ...set, x: out };
}

/** A 3×3 grey-level morphology step: the max (dilation) or min (erosion) over each pixel's neighbourhood. */
function morph(set: ExampleSet, pick: (a: number, b: number) => number, cross: boolean): ExampleSet {
  return mapPixels(set, (at, r, c, ch) => {
    let m = at(r, c, ch);
    for (let dr = -1; dr <= 1; dr++) {
      for (let dc = -1; dc <= 1; dc++) {
        if ((dr === 0 && dc === 0) || (cross && dr !== 0 && dc !== 0)) continue;
        m = pick(m, at(r + dr, c + dc, ch));
      }
    }
    return m;
  });
}

/** Thickens strokes: a 3×3 grey-level dilation (max filter), `times` times. */
export function thicken(set: ExampleSet, times = 1): ExampleSet {
  for (let t = 0; t < times; t++) set = morph(set, Math.max, false);
  return set;
}

/** Thins strokes: a grey-level erosion (min filter) over the 4-neighbourhood, so thin strokes fade rather than vanish. */
export function thin(set: ExampleSet): ExampleSet {
  return morph(set, Math.min, true);
}

/** Shifts every image by (dx, dy) pixels, filling with black; pixels pushed past the edge are lost. */
export function shift(set: ExampleSet, dx: number, dy: number): ExampleSet {
  return mapPixels(set, (at, r, c, ch) => at(r - dy, c - dx, ch));
}

export interface AffineOptions {
  /** Rotation in degrees, counter-clockwise, about the image centre. */
  degrees?: number;
  /** Zoom about the centre: below 1 draws the content smaller. */
  scale?: number;
  dx?: number;
  dy?: number;
}

/** Rotates, scales and shifts each image about its centre with bilinear sampling (black outside the image). */
export function affine(set: ExampleSet, options: AffineOptions): ExampleSet {
  const [h, w] = dims(set);
  const a = ((options.degrees ?? 0) * Math.PI) / 180;
  const s = options.scale ?? 1;
  const [cos, sin] = [Math.cos(a) / s, Math.sin(a) / s];
  const [cy, cx] = [(h - 1) / 2, (w - 1) / 2];
  return mapPixels(set, (at, r, c, ch) => {
    // Inverse map: where in the source this output pixel comes from.
    const [y, x] = [r - cy - (options.dy ?? 0), c - cx - (options.dx ?? 0)];
    const sr = cos * y - sin * x + cy;
    const sc = sin * y + cos * x + cx;
    const [r0, c0] = [Math.floor(sr), Math.floor(sc)];
    const [fr, fc] = [sr - r0, sc - c0];
    return (
      (at(r0, c0, ch) * (1 - fc) + at(r0, c0 + 1, ch) * fc) * (1 - fr) +
      (at(r0 + 1, c0, ch) * (1 - fc) + at(r0 + 1, c0 + 1, ch) * fc) * fr
    );
  });
}

/** Adds seeded Gaussian noise of standard deviation `sigma`, clipped to [0, 1]. */
export function noisy(set: ExampleSet, sigma: number, seed = 1): ExampleSet {
  const rand = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return mapPixels(set, (at, r, c, ch) => Math.min(1, Math.max(0, at(r, c, ch) + sigma * gauss())));
}

/** Blacks out a `size`×`size` square at a seeded random place in each image, within its central `area`×`area` part. */
export function occlude(set: ExampleSet, size: number, seed = 1, area = 20): ExampleSet {
  const [h, w] = dims(set);
  const rand = mulberry32(seed);
  const spots = Array.from(
    { length: set.count },
    () =>
      [
        Math.floor((h - area) / 2 + rand() * (area - size + 1)),
        Math.floor((w - area) / 2 + rand() * (area - size + 1)),
      ] as const,
  );
  return mapPixels(set, (at, r, c, ch, n) => {
    const [r0, c0] = spots[n]!;
    return r >= r0 && r < r0 + size && c >= c0 && c < c0 + size ? 0 : at(r, c, ch);
  });
}

/** Inverts every value (`1 - v`): dark strokes on a light background, as a camera or a light theme gives them. */
export function invert(set: ExampleSet): ExampleSet {
  return mapPixels(set, (at, r, c, ch) => 1 - at(r, c, ch));
}

/** The drift suite: named drifts of image examples, each the kind of change a deployed model meets. */
export const DRIFTS: Readonly<Record<string, (set: ExampleSet) => ExampleSet>> = {
  thick: (s) => thicken(s, 1),
  thin: (s) => thin(s),
  shifted: (s) => shift(s, 5, 4),
  rotated: (s) => affine(s, { degrees: 35 }),
  small: (s) => affine(s, { scale: 0.55 }),
  noisy: (s) => noisy(s, 0.45, 7),
  occluded: (s) => occlude(s, 10, 11),
};
