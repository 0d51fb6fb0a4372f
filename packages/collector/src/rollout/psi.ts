/**
 * Population Stability Index between two histograms over the same bins: Σ (a − e) · ln(a / e) over the bins'
 * shares. Rule of thumb: < 0.1 stable, 0.1–0.25 a moderate shift, > 0.25 a significant one.
 */

// Empty bins would make ln(a/e) infinite; flooring each share at a small epsilon is the usual remedy.
const EPSILON = 1e-4;

/** PSI of `actual` against `expected`; `null` when either side is empty. */
export function psi(expected: readonly number[], actual: readonly number[]): number | null {
  const n = Math.max(expected.length, actual.length);
  const e = sum(expected);
  const a = sum(actual);
  if (e <= 0 || a <= 0) return null;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const pe = Math.max((expected[i] ?? 0) / e, EPSILON);
    const pa = Math.max((actual[i] ?? 0) / a, EPSILON);
    total += (pa - pe) * Math.log(pa / pe);
  }
  return total;
}

/** PSI of two label → count maps, over the union of their labels. */
export function labelPsi(
  expected: Readonly<Record<string, number>>,
  actual: Readonly<Record<string, number>>,
): number | null {
  const labels = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  return psi(
    labels.map((l) => expected[l] ?? 0),
    labels.map((l) => actual[l] ?? 0),
  );
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}
