/** How sure the model is, from its output probabilities: top-1, margin to the runner-up, and entropy. */
import type { TopK } from './types.js';

export interface Scored {
  index: number;
  label: string;
  confidence: number;
  margin: number;
  /** Shannon entropy in nats. */
  entropy: number;
  topK: TopK[];
}

/** Scores one output vector; `k` labels are kept in `topK`. */
export function score(probs: ArrayLike<number>, labels: readonly string[], k = 3): Scored {
  // One pass: entropy, and the k best kept sorted by insertion (k is small; no sort of every output).
  const top: number[] = [];
  let entropy = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!;
    if (p > 0) entropy -= p * Math.log(p);
    if (top.length < Math.max(k, 2) || p > probs[top[top.length - 1]!]!) {
      let j = top.length < Math.max(k, 2) ? top.length : top.length - 1;
      while (j > 0 && probs[top[j - 1]!]! < p) {
        top[j] = top[j - 1]!;
        j--;
      }
      top[j] = i;
    }
  }
  const clamp = (p: number) => Math.min(1, Math.max(0, p));
  const best = top[0] ?? 0;
  const confidence = clamp(probs[best] ?? 0);
  return {
    index: best,
    label: labels[best] ?? String(best),
    confidence,
    margin: top.length < 2 ? confidence : clamp(confidence - probs[top[1]!]!),
    entropy: Math.max(0, entropy),
    topK: top.slice(0, k).map((i) => ({ label: labels[i] ?? String(i), p: clamp(probs[i]!) })),
  };
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
