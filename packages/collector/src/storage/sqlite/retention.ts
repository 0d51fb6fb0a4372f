/**
 * Retention on SQLite: one file has no partitions, so events received more than N days ago are deleted row by
 * row, in one transaction, with the same protection as on PostgreSQL.
 */
import { DAY_MS, PROTECTED_EVENT, type RetentionStore } from '../retention.js';
import { guard, type SqliteDb } from './db.js';

export function sqliteRetention(db: SqliteDb): RetentionStore {
  return {
    ensurePartitions: async () => [],
    partitions: async () => [],
    async apply(days, now) {
      if (!(Number.isInteger(days) && days >= 1)) throw new RangeError(`retention days must be an integer >= 1`);
      const cutoff = now - days * DAY_MS;
      return guard(
        () =>
          db.transaction(() => {
            const kept = db
              .prepare(`SELECT count(*) AS n FROM events e WHERE e.received_at < ? AND ${PROTECTED_EVENT}`)
              .get(cutoff) as { n: number };
            const deleted = db
              .prepare(`DELETE FROM events AS e WHERE e.received_at < ? AND NOT ${PROTECTED_EVENT}`)
              .run(cutoff).changes;
            return { droppedPartitions: [], compactedPartitions: [], deletedRows: deleted, keptRows: kept.n };
          })(),
        db,
      );
    },
  };
}
