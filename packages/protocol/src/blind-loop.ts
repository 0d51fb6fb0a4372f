/**
 * The blind-loop guard: a version whose confidence histogram is degenerate (nearly every prediction in the top
 * bin, or none low-confidence) sends the collector nothing to learn from, whatever its accuracy. A wrong input
 * scale (pixels × 255) does this: the answers stay right, every confidence is 1, the loop goes blind. The
 * collector applies this to live stats (metrics, `getBlindLoop`), and a trainer can apply it to a candidate's
 * own predictions before it publishes.
 */
import Type, { type Static } from 'typebox';

/** When a confidence histogram counts as degenerate. */
export interface BlindLoopOptions {
  /** Fewer predictions than this are never judged. */
  minPredictions: number;
  /** Flag when at least this share of predictions is in the top confidence bin ([0.9, 1]). */
  maxTopBinShare: number;
}

export const BLIND_LOOP_DEFAULTS: BlindLoopOptions = { minPredictions: 1000, maxTopBinShare: 0.99 };

export const BlindLoop = Type.Object(
  {
    blind: Type.Boolean({
      description: 'true: the histogram is degenerate, the loop learns nothing from this version',
    }),
    reason: Type.Union([Type.String(), Type.Null()], {
      description: 'why it is flagged, or why it is not judged yet; null when healthy',
    }),
    predictions: Type.Integer({ minimum: 0 }),
    lowConfidence: Type.Integer({ minimum: 0 }),
    topBinShare: Type.Union([Type.Number(), Type.Null()], {
      description: 'share of predictions with confidence in [0.9, 1]',
    }),
    minPredictions: Type.Integer({ minimum: 0 }),
    maxTopBinShare: Type.Number(),
  },
  { additionalProperties: false },
);
export type BlindLoop = Static<typeof BlindLoop>;

/** What the guard reads: a version's (or a candidate's) prediction count, low-confidence count and 10-bin histogram. */
export interface ConfidenceFigures {
  predictions: number;
  lowConfidence: number;
  confidenceHist: readonly number[];
}

/** Judges one histogram: blind when, over at least `minPredictions`, no prediction was low-confidence or the top bin holds `maxTopBinShare` of them. */
export function blindLoopOf(f: ConfidenceFigures, options: Partial<BlindLoopOptions> = {}): BlindLoop {
  const { minPredictions, maxTopBinShare } = { ...BLIND_LOOP_DEFAULTS, ...options };
  const binned = f.confidenceHist.reduce((a, b) => a + b, 0);
  const top = f.confidenceHist[f.confidenceHist.length - 1] ?? 0;
  const topBinShare = binned > 0 ? top / binned : null;
  const base = {
    predictions: f.predictions,
    lowConfidence: f.lowConfidence,
    topBinShare,
    minPredictions,
    maxTopBinShare,
  };
  if (f.predictions < minPredictions)
    return { ...base, blind: false, reason: `not judged: ${f.predictions} predictions, fewer than ${minPredictions}` };
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  if (f.lowConfidence === 0) {
    return {
      ...base,
      blind: true,
      reason: `no low-confidence prediction in ${f.predictions}${topBinShare !== null ? ` (${pct(topBinShare)} in the top confidence bin)` : ''}: nothing reaches the collector to learn from; check the input's scale and normalisation and the output kind`,
    };
  }
  if (topBinShare !== null && topBinShare >= maxTopBinShare) {
    return {
      ...base,
      blind: true,
      reason: `${pct(topBinShare)} of ${f.predictions} predictions in the top confidence bin (limit ${pct(maxTopBinShare)}): the model is sure of nearly everything; check the input's scale and normalisation and the output kind`,
    };
  }
  return { ...base, blind: false, reason: null };
}
