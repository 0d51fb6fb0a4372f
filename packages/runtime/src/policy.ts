/** Which predictions are kept: every low-confidence one, and an unbiased random sample of the rest. */
import type { Policy } from '@edgeloop/protocol';

export type KeepReason = 'low_confidence' | 'sample';

/** Whether `policy` counts a prediction with this confidence as low-confidence (always kept, counted apart). */
export function isLowConfidence(confidence: number, policy: Policy): boolean {
  return confidence < policy.lowConfidence;
}

/** The reason to keep a prediction with this confidence under `policy`, or `null` to keep only its counts. */
export function keepReason(confidence: number, policy: Policy, random: () => number = Math.random): KeepReason | null {
  if (isLowConfidence(confidence, policy)) return 'low_confidence';
  return random() < policy.sampleRate ? 'sample' : null;
}
