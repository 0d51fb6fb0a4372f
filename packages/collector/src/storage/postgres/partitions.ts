/**
 * `events` on PostgreSQL, partitioned by range on `part_ms`: the millisecond time of the event's UUIDv7 id (0 for
 * another UUID version), one partition per UTC day plus a DEFAULT partition, so that no insert ever fails.
 *
 * Why the id's time and not `received_at`: a unique index of a partitioned table must hold the partition key, and
 * exactly-once ingest dedups on the id. `part_ms` is a function of the id alone, so a resend of the same id,
 * whenever it arrives, goes to the same partition and `ON CONFLICT (id, part_ms)` finds the first copy.
 *
 * Why per day (docs/scale.md): 11 M rows a day at 1M devices and 1.1 B at 100M; a week would be 7.7 B rows and
 * 13 TB in one partition at 100M, and retention could only drop a week at a time.
 */
import type { Migration } from '../migrations.js';
import { lowConfidenceIndex } from '../labels.js';
import { DAY_MS, PROTECTED_EVENT, type RetentionResult, type RetentionStore } from '../retention.js';
import { guard, inTransaction, type PgClient, type PgPool } from './db.js';

export const partitionMigrations: Migration[] = [
  {
    // Rebuilds `events` as a partitioned table in the migration's transaction (collectors wait on the migration
    // lock meanwhile): partitions for each day the stored ids span (within 10 years back, 30 days ahead; the rest
    // go to DEFAULT), every row copied with its seq, the same indexes, and the old table dropped.
    name: '401_events_partitioned',
    sql: `
      CREATE FUNCTION events_part_ms(id text) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
        $$ SELECT CASE WHEN substr(id, 15, 1) = '7' THEN ('x' || substr(id, 1, 8) || substr(id, 10, 4))::bit(48)::bigint ELSE 0 END $$;
      ALTER TABLE events RENAME TO events_unpartitioned;
      ALTER SEQUENCE events_seq_seq OWNED BY NONE;
      CREATE TABLE events (
        seq BIGINT NOT NULL DEFAULT nextval('events_seq_seq'),
        id TEXT NOT NULL,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        device_id TEXT NOT NULL,
        type TEXT NOT NULL,
        ts BIGINT NOT NULL,
        received_at BIGINT NOT NULL,
        input_hash TEXT,
        prediction_id TEXT,
        label TEXT,
        confidence DOUBLE PRECISION,
        reason TEXT,
        body TEXT NOT NULL,
        part_ms BIGINT NOT NULL
      ) PARTITION BY RANGE (part_ms);
      ALTER SEQUENCE events_seq_seq OWNED BY events.seq;
      CREATE TABLE events_default PARTITION OF events DEFAULT;
      -- Creates day \`day\`'s partition (days since the epoch, UTC) unless it, or its \`_kept\` successor, exists;
      -- rows of that day already in DEFAULT move into it. Callers hold the partitions advisory lock.
      CREATE FUNCTION events_add_partition(day bigint) RETURNS boolean LANGUAGE plpgsql AS $$
      DECLARE
        lo bigint := day * ${DAY_MS};
        hi bigint := (day + 1) * ${DAY_MS};
        name text := 'events_p' || to_char(to_timestamp(day * 86400) AT TIME ZONE 'UTC', 'YYYYMMDD');
        moved bigint;
      BEGIN
        IF to_regclass(name) IS NOT NULL OR to_regclass(name || '_kept') IS NOT NULL THEN RETURN false; END IF;
        LOCK TABLE events_default IN SHARE ROW EXCLUSIVE MODE;
        CREATE TEMP TABLE events_moving AS SELECT * FROM events_default WHERE part_ms >= lo AND part_ms < hi;
        GET DIAGNOSTICS moved = ROW_COUNT;
        IF moved > 0 THEN DELETE FROM events_default WHERE part_ms >= lo AND part_ms < hi; END IF;
        EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%s) TO (%s)', name, lo, hi);
        IF moved > 0 THEN INSERT INTO events SELECT * FROM events_moving; END IF;
        DROP TABLE events_moving;
        RETURN true;
      END $$;
      DO $$
      DECLARE d bigint;
      BEGIN
        FOR d IN SELECT DISTINCT events_part_ms(id) / ${DAY_MS} FROM events_unpartitioned
                 WHERE events_part_ms(id) BETWEEN (extract(epoch FROM now()) * 1000)::bigint - 3650::bigint * ${DAY_MS}
                                              AND (extract(epoch FROM now()) * 1000)::bigint + 30::bigint * ${DAY_MS}
        LOOP PERFORM events_add_partition(d); END LOOP;
      END $$;
      INSERT INTO events
        SELECT seq, id, model, version, device_id, type, ts, received_at, input_hash, prediction_id, label,
               confidence, reason, body, events_part_ms(id)
        FROM events_unpartitioned;
      DROP TABLE events_unpartitioned;
      CREATE UNIQUE INDEX events_id ON events (id, part_ms);
      CREATE INDEX events_seq ON events (seq);
      CREATE INDEX events_model_type ON events (model, type, seq);
      CREATE INDEX events_prediction ON events (prediction_id) WHERE prediction_id IS NOT NULL;
      CREATE INDEX events_input_hash ON events (model, input_hash) WHERE input_hash IS NOT NULL;
      CREATE INDEX events_model_type_received ON events (model, type, received_at);
      ${lowConfidenceIndex}
    `,
  },
];

const PARTITION_RE = /^events_p(\d{4})(\d{2})(\d{2})(_kept)?$/;

/** The UTC day (days since the epoch) a partition's name covers. */
function dayOf(name: string): number | undefined {
  const m = PARTITION_RE.exec(name);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / DAY_MS : undefined;
}

async function listPartitions(c: PgPool | PgClient): Promise<string[]> {
  const { rows } = await c.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'events'::regclass ORDER BY c.relname`,
  );
  return rows.map((r) => r.name).filter((n) => dayOf(n) !== undefined);
}

/** Partitions ahead of time and retention by whole partitions, on `pool` whose search_path is `schema`. */
export function postgresRetention(pool: PgPool, schema: string): RetentionStore {
  // Every collector creating or dropping partitions of this schema takes this lock first.
  const locked = <T>(fn: (c: PgClient) => Promise<T>) =>
    inTransaction(pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`edgeloop-partitions:${schema}`]);
      return fn(c);
    });
  return {
    ensurePartitions(now, aheadDays = 3) {
      return locked(async (c) => {
        const today = Math.floor(now / DAY_MS);
        const { rows } = await c.query<{ name: string; created: boolean }>(
          `SELECT 'events_p' || to_char(to_timestamp(d * 86400) AT TIME ZONE 'UTC', 'YYYYMMDD') AS name,
                  events_add_partition(d) AS created
           FROM generate_series($1::bigint, $2::bigint) AS d ORDER BY d`,
          [today, today + aheadDays],
        );
        return rows.filter((r) => r.created).map((r) => r.name);
      });
    },
    partitions: () => guard(() => listPartitions(pool)),
    apply(days, now) {
      if (!(Number.isInteger(days) && days >= 1)) throw new RangeError(`retention days must be an integer >= 1`);
      const cutoff = now - days * DAY_MS;
      return locked(async (c) => {
        const result: RetentionResult = { droppedPartitions: [], compactedPartitions: [], deletedRows: 0, keptRows: 0 };
        const old = (await listPartitions(c)).filter((n) => (dayOf(n)! + 1) * DAY_MS <= cutoff);
        if (old.some((n) => !n.endsWith('_kept'))) {
          // No insert may land in a partition being emptied, and no freeze or label may start to need one of its
          // events meanwhile: those transactions read `events`, so they finish first or wait for this one.
          await c.query('LOCK TABLE events IN ACCESS EXCLUSIVE MODE');
        }
        for (const name of old) {
          if (name.endsWith('_kept')) {
            // Late events of a day already compacted: deleted one by one (few).
            result.deletedRows += (await c.query(`DELETE FROM ${name} e WHERE NOT ${PROTECTED_EVENT}`)).rowCount ?? 0;
            continue;
          }
          await c.query(
            `CREATE TEMP TABLE events_keep ON COMMIT DROP AS SELECT * FROM ${name} e WHERE ${PROTECTED_EVENT}`,
          );
          const kept = Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM events_keep')).rows[0]!.n);
          await c.query(`DROP TABLE ${name}`);
          if (kept === 0) result.droppedPartitions.push(name);
          else {
            const day = dayOf(name)!;
            await c.query(
              `CREATE TABLE ${name}_kept PARTITION OF events FOR VALUES FROM (${day * DAY_MS}) TO (${(day + 1) * DAY_MS})`,
            );
            await c.query(`INSERT INTO ${name}_kept SELECT * FROM events_keep`);
            result.compactedPartitions.push(name);
            result.keptRows += kept;
          }
          await c.query('DROP TABLE events_keep');
        }
        // DEFAULT holds ids of no current day (another UUID version, a clock far off, a day already dropped):
        // those go by the time they were received.
        result.deletedRows +=
          (await c.query(`DELETE FROM events_default e WHERE e.received_at < $1 AND NOT ${PROTECTED_EVENT}`, [cutoff]))
            .rowCount ?? 0;
        return result;
      });
    },
  };
}
