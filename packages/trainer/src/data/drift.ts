/**
 * Drifted slices of digit images, the kind of change a deployed model meets (a thicker pen, a digit drawn off
 * centre): used to make correction batches in tests and benchmarks, and to check that a retrain fixes them.
 */
import type { ExampleSet } from './examples.js';

/** Thickens strokes: a 3×3 grey-level dilation (max filter), `times` times. Shape [h, w, 1] images. */
export function thicken(set: ExampleSet, times = 1): ExampleSet {
  const [h, w] = set.shape as [number, number, number];
  let x = set.x;
  for (let t = 0; t < times; t++) {
    const out = new Float32Array(x.length);
    for (let n = 0; n < set.count; n++) {
      const base = n * h * w;
      for (let r = 0; r < h; r++) {
        for (let c = 0; c < w; c++) {
          let m = 0;
          for (let dr = -1; dr <= 1; dr++) {
            const rr = r + dr;
            if (rr < 0 || rr >= h) continue;
            for (let dc = -1; dc <= 1; dc++) {
              const cc = c + dc;
              if (cc >= 0 && cc < w) m = Math.max(m, x[base + rr * w + cc]!);
            }
          }
          out[base + r * w + c] = m;
        }
      }
    }
    x = out;
  }
  return { ...set, x };
}

/** Shifts every image by (dx, dy) pixels, filling with black; pixels pushed past the edge are lost. */
export function shift(set: ExampleSet, dx: number, dy: number): ExampleSet {
  const [h, w] = set.shape as [number, number, number];
  const out = new Float32Array(set.x.length);
  for (let n = 0; n < set.count; n++) {
    const base = n * h * w;
    for (let r = 0; r < h; r++) {
      const rr = r - dy;
      if (rr < 0 || rr >= h) continue;
      for (let c = 0; c < w; c++) {
        const cc = c - dx;
        if (cc >= 0 && cc < w) out[base + r * w + c] = set.x[base + rr * w + cc]!;
      }
    }
  }
  return { ...set, x: out };
}
