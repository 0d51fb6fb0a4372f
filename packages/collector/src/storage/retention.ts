/**
 * Event retention, shared by both stores. Old events go, except those a batch or a label still needs: the SQL
 * condition below, written once, is what "protected" means in both dialects.
 */

/** Milliseconds in a day: PostgreSQL partitions events per UTC day of their id's time. */
export const DAY_MS = 86_400_000;

/**
 * Whether the event aliased `e` must outlive retention:
 * - every correction (a label source, in a batch or pending);
 * - a prediction a correction names (it carries the corrected input);
 * - an event a review names, and a prediction of an input that has a review or a resolution (`input_labels`:
 *   labeled, tied or frozen into a batch), whose bytes a freeze reads;
 * - a batch example's source event (batch lineage).
 */
export const PROTECTED_EVENT = `(
  e.type = 'correction'
  OR e.id IN (SELECT c.prediction_id FROM events c WHERE c.type = 'correction' AND c.prediction_id IS NOT NULL)
  OR e.id IN (SELECT r.event_id FROM reviews r)
  OR e.id IN (SELECT b.source_event_id FROM batch_examples b WHERE b.source_event_id IS NOT NULL)
  OR (e.input_hash IS NOT NULL AND EXISTS (
    SELECT 1 FROM input_labels l WHERE l.model = e.model AND l.input_hash = e.input_hash))
  OR (e.input_hash IS NOT NULL AND EXISTS (
    SELECT 1 FROM reviews r WHERE r.model = e.model AND r.input_hash = e.input_hash))
)`;

/** What one retention pass did. */
export interface RetentionResult {
  /** Partitions dropped whole (none held a protected event). PostgreSQL only. */
  droppedPartitions: string[];
  /** Partitions replaced by a `_kept` one holding only their protected events. PostgreSQL only. */
  compactedPartitions: string[];
  /** Events deleted one by one (SQLite; on PostgreSQL the default partition and `_kept` partitions). */
  deletedRows: number;
  /** Protected events kept past the cutoff by this pass (moved into a `_kept` partition, or left in place). */
  keptRows: number;
}

/** Time partitions and retention; SQLite has no partitions and deletes rows. */
export interface RetentionStore {
  /**
   * Creates the partitions of the UTC days from `now`'s through `aheadDays` later that do not exist yet
   * (idempotent; several collectors at once are serialised by an advisory lock). Resolves to the names created;
   * SQLite: always none.
   */
  ensurePartitions(now: number, aheadDays?: number): Promise<string[]>;
  /** The event partitions, oldest first (PostgreSQL; SQLite: none). */
  partitions(): Promise<string[]>;
  /** Removes events whose time is more than `days` days before `now`, except protected ones. */
  apply(days: number, now: number): Promise<RetentionResult>;
}
