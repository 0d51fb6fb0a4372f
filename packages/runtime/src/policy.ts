/** Which predictions are kept: every low-confidence one, and an unbiased random sample of the rest. */
import type { Policy } from '@edgeloop/protocol';

export type KeepReason = 'low_confidence' | 'sample';

/** The reason to keep a prediction with this confidence under `policy`, or `null` to keep only its counts. */
export function keepReason(confidence: number, policy: Policy, random: () => number = Math.random): KeepReason | null {
  if (confidence < policy.lowConfidence) return 'low_confidence';
  return random() < policy.sampleRate ? 'sample' : null;
}
