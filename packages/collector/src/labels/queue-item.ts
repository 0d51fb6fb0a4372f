/** The review queue's item as the API sends it: no Node imports, so the admin page shares this type. */
import type { Tensor } from '@edgeloop/protocol';

/** One input waiting for a person: a low-confidence prediction without a trusted label, or a tied vote. */
export interface QueueItem {
  inputHash: string;
  reason: 'low_confidence' | 'tie';
  /** The prediction to label (the latest one that carries the input, else the latest). */
  predictionId: string;
  predicted: { label: string; confidence: number };
  /** Predictions of this input that put it in the queue. */
  predictions: number;
  firstSeen: number;
  /** The input, when a device uploaded it. */
  input: Tensor | null;
  /** Users' corrections of this input (label and comment are user text: show them escaped). */
  corrections: { label: string; deviceId: string; comment: string | null }[];
}
