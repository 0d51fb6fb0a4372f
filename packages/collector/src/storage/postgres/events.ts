/** SQL for the `events` and `api_keys` tables on PostgreSQL. */
import type { Event } from '@edgeloop/protocol';
import type { EventStore } from '../types.js';
import type { Migration } from '../migrations.js';
import { eventsTable, keysTable, POSTGRES_TYPES } from '../schema.js';
import { guard, type PgPool } from './db.js';
import { eventColumns } from '../event-columns.js';

export const eventMigrations: Migration[] = [
  {
    name: '001_events',
    sql: `${eventsTable(POSTGRES_TYPES)}
    `,
  },
  {
    name: '002_api_keys',
    sql: `${keysTable(POSTGRES_TYPES)}
    `,
  },
];

/**
 * Inserts the rows of a JSON array (keys named as the columns); ids already stored are skipped. The partition key
 * is a function of the id (`partitions.ts`), so a resent id meets its first copy in the same partition.
 */
export const INSERT_EVENTS = `
  INSERT INTO events (id, model, version, device_id, type, ts, received_at, input_hash, prediction_id, label, confidence, reason, body, part_ms)
  SELECT id, model, version, device_id, type, ts, received_at, input_hash, prediction_id, label, confidence, reason, body, events_part_ms(id)
  FROM json_to_recordset($1::json) AS r (
    id text, model text, version text, device_id text, type text, ts bigint, received_at bigint,
    input_hash text, prediction_id text, label text, confidence float8, reason text, body text)
  ON CONFLICT (id, part_ms) DO NOTHING`;

export function postgresEventStore(pool: PgPool): EventStore {
  return {
    async insert(events, receivedAt) {
      if (events.length === 0) return { inserted: 0, duplicates: 0 };
      // One JSON parameter: pg escapes array parameters element by element in JS, which costs more CPU (BENCHMARKS.md).
      const rows = events.map((e) => {
        const c = eventColumns(e);
        return {
          id: e.id,
          model: e.model,
          version: e.version,
          device_id: e.deviceId,
          type: e.type,
          ts: e.ts,
          received_at: receivedAt,
          input_hash: c.inputHash,
          prediction_id: c.predictionId,
          label: c.label,
          confidence: c.confidence,
          reason: c.reason,
          body: JSON.stringify(e),
        };
      });
      // One statement is one implicit transaction: it is committed when the promise resolves.
      const r = await guard(() => pool.query(INSERT_EVENTS, [JSON.stringify(rows)]));
      const inserted = r.rowCount ?? 0;
      return { inserted, duplicates: events.length - inserted };
    },
    async get(id) {
      const r = await guard(() =>
        pool.query<{ body: string }>('SELECT body FROM events WHERE id = $1 AND part_ms = events_part_ms($1)', [id]),
      );
      const body = r.rows[0]?.body;
      return body === undefined ? undefined : (JSON.parse(body) as Event);
    },
    async count(filter = {}) {
      const where: string[] = [];
      const args: string[] = [];
      if (filter.model) {
        args.push(filter.model);
        where.push(`model = $${args.length}`);
      }
      if (filter.type) {
        args.push(filter.type);
        where.push(`type = $${args.length}`);
      }
      const sql = `SELECT count(*)::int AS n FROM events${where.length ? ' WHERE ' + where.join(' AND ') : ''}`;
      const r = await guard(() => pool.query<{ n: number }>(sql, args));
      return r.rows[0]!.n;
    },
  };
}
