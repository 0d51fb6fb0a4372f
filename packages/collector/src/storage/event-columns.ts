import { canonicalLabelSet, type Event } from '@edgeloop/protocol';

/**
 * The indexed columns an event contributes besides its JSON body (shared by both stores). A correction's label set
 * (multi-label models) is kept in `label` in its canonical form, so that label resolution votes on sets as on labels.
 */
export function eventColumns(e: Event): {
  inputHash: string | null;
  predictionId: string | null;
  label: string | null;
  confidence: number | null;
  reason: string | null;
} {
  switch (e.type) {
    case 'prediction':
      return {
        inputHash: e.inputHash,
        predictionId: null,
        label: e.output.label,
        confidence: e.output.confidence,
        reason: e.reason,
      };
    case 'correction':
      return {
        inputHash: null,
        predictionId: e.predictionId,
        label: e.labels ? canonicalLabelSet(e.labels) : (e.label ?? null),
        confidence: null,
        reason: null,
      };
    default:
      return { inputHash: null, predictionId: null, label: null, confidence: null, reason: null };
  }
}
