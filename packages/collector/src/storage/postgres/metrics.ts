/** The reads the metrics and the canary controller make from the `events` table on PostgreSQL. */
import type { StatsEvent } from '@edgeloop/protocol';
import type { Migration } from '../migrations.js';
import { receivedIndex } from '../schema.js';
import type { MetricsStore, StatsRow } from '../../rollout/types.js';
import { guard, type PgPool } from './db.js';

export const metricsMigrations: Migration[] = [{ name: '203_events_received_index', sql: receivedIndex }];

export function postgresMetricsStore(pool: PgPool): MetricsStore {
  return {
    async stats(model, since, until, versions) {
      const args: unknown[] = [model, since, until];
      let sql = `SELECT version, received_at, body FROM events
                 WHERE model = $1 AND type = 'stats' AND received_at >= $2 AND received_at < $3`;
      if (versions) {
        args.push([...versions]);
        sql += ' AND version = ANY($4::text[])';
      }
      const r = await guard(() =>
        pool.query<{ version: string; received_at: number; body: string }>(`${sql} ORDER BY seq`, args),
      );
      return r.rows.map((x): StatsRow => ({
        version: x.version,
        receivedAt: x.received_at,
        stats: JSON.parse(x.body) as StatsEvent,
      }));
    },
    async counts(model, type, since, until, bucketMs) {
      const r = await guard(() =>
        pool.query<{ version: string; bucket: number; n: number }>(
          `SELECT version, (received_at - $1) / $2 AS bucket, count(*)::int AS n FROM events
           WHERE model = $3 AND type = $4 AND received_at >= $1 AND received_at < $5
           GROUP BY version, bucket`,
          [since, Math.max(1, Math.floor(bucketMs)), model, type, until],
        ),
      );
      return r.rows.map((x) => ({ version: x.version, bucket: x.bucket, n: x.n }));
    },
  };
}
