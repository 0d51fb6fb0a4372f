/** Events as `events` table rows, for the benches that fill a store directly (light: no trainer, no TF.js). */
import type { Event } from '@edgeloop/protocol';
import { eventColumns } from '@edgeloop/collector/internal';

export type EventRow = (string | number | null)[];

/** The `events` row the collector stores for `e` (its columns as storage/event-columns.ts computes them). */
export function eventRow(e: Event, receivedAt: number): EventRow {
  const c = eventColumns(e);
  return [
    e.id,
    e.model,
    e.version,
    e.deviceId,
    e.type,
    e.ts,
    receivedAt,
    c.inputHash,
    c.predictionId,
    c.label,
    c.confidence,
    c.reason,
    JSON.stringify(e),
  ];
}
