/** The reads the metrics and the canary controller make from the `events` table on SQLite. */
import type { StatsEvent } from '@edgeloop/protocol';
import type { Migration } from '../migrations.js';
import { receivedIndex } from '../schema.js';
import type { BucketCount, MetricsStore, StatsRow } from '../../rollout/types.js';
import { guard, type SqliteDb } from './db.js';

export const metricsMigrations: Migration[] = [{ name: '203_events_received_index', sql: receivedIndex }];

export function sqliteMetricsStore(db: SqliteDb): MetricsStore {
  const statsAll = db.prepare(`
    SELECT version, received_at, body FROM events
    WHERE model = ? AND type = 'stats' AND received_at >= ? AND received_at < ? ORDER BY seq`);
  // better-sqlite3 binds numbers as REAL, so the division is cast back to a whole bucket index.
  const countsBy = db.prepare(`
    SELECT version, CAST((received_at - ?) / ? AS INTEGER) AS bucket, count(*) AS n FROM events
    WHERE model = ? AND type = ? AND received_at >= ? AND received_at < ?
    GROUP BY version, bucket`);
  return {
    async stats(model, since, until, versions) {
      const rows = guard(() => statsAll.all(model, since, until)) as {
        version: string;
        received_at: number;
        body: string;
      }[];
      const wanted = versions && new Set(versions);
      return rows
        .filter((r) => !wanted || wanted.has(r.version))
        .map((r): StatsRow => ({
          version: r.version,
          receivedAt: r.received_at,
          stats: JSON.parse(r.body) as StatsEvent,
        }));
    },
    async counts(model, type, since, until, bucketMs) {
      return guard(() =>
        countsBy.all(since, Math.max(1, Math.floor(bucketMs)), model, type, since, until),
      ) as BucketCount[];
    },
  };
}
