/** Assembles review-queue items from the rows both stores read, so both answer the same JSON. */
import { parseLabelSet } from '@edgeloop/protocol';
import type { QueueItem } from './store.js';
import { canonicalTensor } from './batch-content.js';

export interface QueuePredictionRow {
  input_hash: string;
  id: string;
  label: string;
  confidence: number;
  body: string;
}

export interface QueueCorrectionRow {
  input_hash: string;
  device_id: string;
  label: string;
  body: string;
}

/** At most this many corrections are shown per input; the rest add nothing a reviewer needs. */
const MAX_CORRECTIONS_SHOWN = 20;

/** Queue items in the order of `heads`, with the latest prediction that carries the input and its corrections. */
export function queueItems(
  heads: readonly { inputHash: string; firstSeen: number; predictions: number; tie: boolean }[],
  predictions: readonly QueuePredictionRow[],
  corrections: readonly QueueCorrectionRow[],
): QueueItem[] {
  const preds = new Map<string, QueuePredictionRow[]>();
  for (const p of predictions) {
    const list = preds.get(p.input_hash) ?? [];
    list.push(p);
    preds.set(p.input_hash, list);
  }
  const corr = new Map<string, QueueItem['corrections']>();
  for (const c of corrections) {
    const list = corr.get(c.input_hash) ?? [];
    if (list.length < MAX_CORRECTIONS_SHOWN) {
      const comment = (JSON.parse(c.body) as { comment?: unknown }).comment;
      // A label set (a multi-label model's correction) is also given as the set itself.
      const set = parseLabelSet(c.label);
      list.push({
        label: c.label,
        ...(set ? { labels: set } : {}),
        deviceId: c.device_id,
        comment: typeof comment === 'string' ? comment : null,
      });
    }
    corr.set(c.input_hash, list);
  }
  const items: QueueItem[] = [];
  for (const h of heads) {
    // Rows come newest first; prefer the newest that carries the input so the reviewer can see it.
    let chosen: { row: QueuePredictionRow; input: QueueItem['input'] } | undefined;
    for (const row of preds.get(h.inputHash) ?? []) {
      const input = canonicalTensor((JSON.parse(row.body) as { input?: unknown }).input) ?? null;
      if (!chosen || (input && !chosen.input)) chosen = { row, input };
      if (input) break;
    }
    if (!chosen) continue;
    items.push({
      inputHash: h.inputHash,
      reason: h.tie ? 'tie' : 'low_confidence',
      predictionId: chosen.row.id,
      predicted: { label: chosen.row.label, confidence: Number(chosen.row.confidence) },
      predictions: Number(h.predictions),
      firstSeen: Number(h.firstSeen),
      input: chosen.input,
      corrections: corr.get(h.inputHash) ?? [],
    });
  }
  return items;
}
