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

/** Indices of the largest outputs of the last `rank()`, best first, and how many there are. */
const top: number[] = [];
let ranked = 0;
const clamp = (p: number) => (p < 0 ? 0 : p > 1 ? 1 : p);

/** One pass over `probs`: the `keep` largest indices into `top` (kept sorted by insertion); returns the entropy. */
function rank(probs: ArrayLike<number>, keep: number): number {
  let n = 0;
  let entropy = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!;
    if (p > 0) entropy -= p * Math.log(p);
    if (n < keep || p > probs[top[n - 1]!]!) {
      let j = n < keep ? n++ : n - 1;
      while (j > 0 && probs[top[j - 1]!]! < p) {
        top[j] = top[j - 1]!;
        j--;
      }
      top[j] = i;
    }
  }
  ranked = n;
  return entropy > 0 ? entropy : 0;
}

function topKOf(probs: ArrayLike<number>, labels: readonly string[], k: number): TopK[] {
  const topK: TopK[] = [];
  for (let j = 0; j < ranked && j < k; j++)
    topK.push({ label: labels[top[j]!] ?? String(top[j]), p: clamp(probs[top[j]!]!) });
  return topK;
}

/** Scores one output vector; `k` labels are kept in `topK`. */
export function score(probs: ArrayLike<number>, labels: readonly string[], k = 3): Scored {
  const entropy = rank(probs, k > 2 ? k : 2);
  const best = ranked ? top[0]! : 0;
  const confidence = clamp(probs[best] ?? 0);
  return {
    index: best,
    label: labels[best] ?? String(best),
    confidence,
    margin: ranked < 2 ? confidence : clamp(confidence - probs[top[1]!]!),
    entropy,
    topK: topKOf(probs, labels, k),
  };
}

/** What `score(probs, labels, 3)` gives, in one reused object: read it at once (the prediction path, no allocation but `topK`). */
const scratch: Scored = { index: 0, label: '', confidence: 0, margin: 0, entropy: 0, topK: [] };
export function scoreTop3(probs: ArrayLike<number>, labels: readonly string[]): Readonly<Scored> {
  scratch.entropy = rank(probs, 3);
  const best = ranked ? top[0]! : 0;
  const confidence = clamp(probs[best] ?? 0);
  scratch.index = best;
  scratch.label = labels[best] ?? String(best);
  scratch.confidence = confidence;
  scratch.margin = ranked < 2 ? confidence : clamp(confidence - probs[top[1]!]!);
  scratch.topK = topKOf(probs, labels, 3);
  return scratch;
}
