import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { App, Storage } from '@edgeloop/collector';
import type { Event, PredictionEvent } from '@edgeloop/protocol';
import { makeApp, makeStore, bearer, KEYS, PG_URL, STORE_KINDS } from './helpers/stores.js';
import { correction, freeze, prediction, store } from './helpers/labels.js';
import { errorEvent } from './helpers/events.js';

const DAY = 86_400_000;
const NOW = Date.now();

/** A UUIDv7 whose time is `ms` (newId cannot go back in time: it is monotonic). */
function idAt(ms: number): string {
  const r = randomBytes(9).toString('hex');
  const v = ms.toString(16).padStart(12, '0') + '7' + r.slice(0, 3) + '8' + r.slice(3);
  return `${v.slice(0, 8)}-${v.slice(8, 12)}-${v.slice(12, 16)}-${v.slice(16, 20)}-${v.slice(20, 32)}`;
}

/** `e` with an id made `daysAgo` days before now. */
function aged<E extends Event>(e: E, daysAgo: number): E {
  return { ...e, id: idAt(NOW - daysAgo * DAY) };
}

/** The name of the partition that holds a day's events. */
function partitionOf(ms: number): string {
  return `events_p${new Date(ms).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

async function pgQuery<R extends pg.QueryResultRow>(schema: string, sql: string, args: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
  await c.connect();
  try {
    return (await c.query<R>(sql, args)).rows;
  } finally {
    await c.end();
  }
}

const schemaOf = (app: App) => (app.config.storage as { postgres?: { schema: string } }).postgres?.schema ?? '';

for (const kind of STORE_KINDS) {
  describe(`event partitions and retention (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    before(async () => ({ app, close } = await makeApp(kind, { maintenance: false, retentionDays: 14 })));
    after(() => close());

    test('the same id sent on two different days is stored once', async () => {
      const fresh = prediction({ seed: 1, reason: 'sample', model: 'dedup' });
      const old = aged(prediction({ seed: 2, reason: 'sample', model: 'dedup' }), 40);
      const notV7 = { ...prediction({ seed: 3, reason: 'sample', model: 'dedup' }), id: crypto.randomUUID() };
      assert.deepEqual(await app.storage.events.insert([fresh, old, notV7], NOW), { inserted: 3, duplicates: 0 });
      assert.deepEqual(await app.storage.events.insert([fresh, old, notV7], NOW + 3 * DAY), {
        inserted: 0,
        duplicates: 3,
      });
      assert.equal(await app.storage.events.count({ model: 'dedup' }), 3);
      for (const e of [fresh, old, notV7]) assert.deepEqual(await app.storage.events.get(e.id), e);
    });

    test('retention drops old unlabeled events and keeps every event a label or a batch needs', async () => {
      // 20 days old: an unlabeled prediction, an error event, a corrected prediction and its correction, and an
      // uncorrected prediction whose input bytes a batch takes (the corrected one of its input came without bytes).
      const plain = aged(prediction({ seed: 10, reason: 'sample', model: 'ret' }), 20);
      const error = aged(errorEvent({ model: 'ret' }), 20);
      const corrected = aged(prediction({ seed: 11, model: 'ret' }), 20);
      const fix = aged(correction(corrected, '4', 'dev-a'), 20);
      const bytesOnly = aged(prediction({ seed: 12, model: 'ret', reason: 'sample' }), 20);
      const noBytes = aged(prediction({ seed: 12, model: 'ret', withInput: false }), 20);
      const fix2 = aged(correction(noBytes, '6', 'dev-b'), 20);
      // 30 days old and unlabeled: its whole partition goes. Today's: stays.
      const older = aged(prediction({ seed: 13, reason: 'sample', model: 'ret' }), 30);
      const today = prediction({ seed: 14, reason: 'sample', model: 'ret' });
      if (kind === 'postgres') {
        // Partitions for those past days, as a collector running then would have made them.
        await app.storage.retention.ensurePartitions(NOW - 30 * DAY, 0);
        await app.storage.retention.ensurePartitions(NOW - 20 * DAY, 0);
      }
      await app.storage.events.insert([older], NOW - 30 * DAY);
      const all = [plain, error, corrected, fix, bytesOnly, noBytes, fix2];
      await app.storage.events.insert(all, NOW - 20 * DAY);
      await store(app, today);
      const r = await freeze(app, 'ret');
      assert.equal(r.statusCode, 201, r.body);
      const lineage = await app.storage.batches.lineage(r.json().id);
      assert.ok(
        lineage.some((l) => l.eventId === bytesOnly.id && l.role === 'input'),
        JSON.stringify(lineage),
      );

      const { retention } = await app.maintain(NOW);
      assert.ok(retention);
      for (const gone of [plain, error, older]) assert.equal(await app.storage.events.get(gone.id), undefined);
      for (const kept of [corrected, fix, bytesOnly, noBytes, fix2, today])
        assert.deepEqual(await app.storage.events.get(kept.id), kept);
      if (kind === 'postgres') {
        assert.deepEqual(retention.droppedPartitions, [partitionOf(NOW - 30 * DAY)]);
        assert.deepEqual(retention.compactedPartitions, [partitionOf(NOW - 20 * DAY)]);
        assert.equal(retention.keptRows, 5);
        const names = await app.storage.retention.partitions();
        assert.ok(!names.includes(partitionOf(NOW - 30 * DAY)));
        assert.ok(names.includes(`${partitionOf(NOW - 20 * DAY)}_kept`));
        // The batch still exports, and a resend of a kept event is still a duplicate.
        assert.deepEqual(await app.storage.events.insert([fix], NOW), { inserted: 0, duplicates: 1 });
      } else {
        assert.deepEqual(retention.droppedPartitions, []);
        assert.equal(retention.deletedRows, 3);
      }
      const again = await app.maintain(NOW);
      assert.equal(again.retention!.deletedRows, 0);
      assert.deepEqual(again.retention!.droppedPartitions, []);
    });

    test('retention keeps a reviewed event, which no batch has taken yet', async () => {
      const reviewed = aged(prediction({ seed: 20, model: 'digits', reason: 'low_confidence' }), 25);
      await app.storage.events.insert([reviewed], NOW - 25 * DAY);
      const label = await app.inject({
        method: 'POST',
        url: `/v1/events/${reviewed.id}/label`,
        headers: bearer(KEYS.admin),
        payload: { label: '5' },
      });
      assert.equal(label.statusCode, 201, label.body);
      await app.maintain(NOW);
      assert.deepEqual(await app.storage.events.get(reviewed.id), reviewed);
    });

    if (kind === 'postgres') {
      test('partitions exist from today to 3 days ahead, and an insert lands in its day', async () => {
        const names = await app.storage.retention.partitions();
        for (let d = 0; d <= 3; d++) assert.ok(names.includes(partitionOf(NOW + d * DAY)), `${d} days ahead`);
        const e = prediction({ seed: 30, reason: 'sample', model: 'landing' });
        await store(app, e);
        const rows = await pgQuery<{ where: string }>(
          schemaOf(app),
          `SELECT tableoid::regclass::text AS where FROM events WHERE id = $1`,
          [e.id],
        );
        assert.deepEqual(rows, [{ where: partitionOf(NOW) }]);
      });

      test('an event of a day with no partition yet goes to DEFAULT and moves when its partition is made', async () => {
        const future = aged(prediction({ seed: 31, reason: 'sample', model: 'landing' }), -10);
        await store(app, future);
        const where = () =>
          pgQuery<{ where: string }>(
            schemaOf(app),
            `SELECT tableoid::regclass::text AS where FROM events WHERE id = $1`,
            [future.id],
          );
        assert.deepEqual(await where(), [{ where: 'events_default' }]);
        assert.deepEqual(await app.storage.retention.ensurePartitions(NOW + 10 * DAY, 0), [
          partitionOf(NOW + 10 * DAY),
        ]);
        assert.deepEqual(await where(), [{ where: partitionOf(NOW + 10 * DAY) }]);
        assert.deepEqual(await app.storage.events.insert([future], NOW), { inserted: 0, duplicates: 1 });
      });
    } else {
      test('SQLite has no partitions', async () => {
        assert.deepEqual(await app.storage.retention.ensurePartitions(NOW), []);
        assert.deepEqual(await app.storage.retention.partitions(), []);
      });
    }
  });

  describe(`event partitions across restarts and collectors (${kind})`, () => {
    test('a restart finds the partitions made and keeps every event', async () => {
      const s = await makeStore(kind);
      try {
        const first: Storage = s.open();
        await first.migrate();
        const e = prediction({ seed: 40, reason: 'sample' }) as PredictionEvent;
        await first.events.insert([e], NOW);
        const before = await first.retention.partitions();
        await first.close();
        const second = s.open();
        await second.migrate();
        assert.deepEqual(await second.retention.partitions(), before);
        assert.deepEqual(await second.retention.ensurePartitions(NOW), []);
        assert.deepEqual(await second.events.insert([e], NOW + DAY), { inserted: 0, duplicates: 1 });
        await second.close();
      } finally {
        await s.destroy();
      }
    });

    test('two collectors migrating and making partitions at once both succeed, each partition made once', async () => {
      const s = await makeStore(kind);
      const a = s.open();
      const b = s.open();
      try {
        await Promise.all([a.migrate(), b.migrate()]);
        const ahead = NOW + 20 * DAY;
        const [madeA, madeB] = await Promise.all([
          a.retention.ensurePartitions(ahead, 5),
          b.retention.ensurePartitions(ahead, 5),
        ]);
        if (kind === 'postgres') {
          assert.equal(madeA.length + madeB.length, 6);
          assert.equal(new Set([...madeA, ...madeB]).size, 6);
        } else assert.deepEqual([madeA, madeB], [[], []]);
        const e = prediction({ seed: 41, reason: 'sample' });
        const [ra, rb] = await Promise.all([a.events.insert([e], NOW), b.events.insert([e], NOW)]);
        assert.equal(ra.inserted + rb.inserted, 1);
      } finally {
        await a.close();
        await b.close();
        await s.destroy();
      }
    });
  });
}

describe('the partitioning migration (postgres)', () => {
  test('moves every stored event into the partitioned table, keeping its seq, and dedup holds after', async () => {
    const s = await makeStore('postgres');
    const schema = (s.options as { postgres: { schema: string } }).postgres.schema;
    try {
      // The names of every migration, from a store migrated in full.
      const full = await makeStore('postgres');
      const probe = full.open();
      await probe.migrate();
      await probe.close();
      const names = (
        await pgQuery<{ name: string }>(
          (full.options as { postgres: { schema: string } }).postgres.schema,
          'SELECT name FROM schema_migrations',
        )
      ).map((r) => r.name);
      await full.destroy();
      // A store as it was before: the unpartitioned table, with rows of several days and one non-v7 id.
      const events = [
        aged(prediction({ seed: 50, reason: 'sample' }), 3),
        aged(prediction({ seed: 51, reason: 'sample' }), 0),
        { ...prediction({ seed: 52, reason: 'sample' }), id: crypto.randomUUID() },
      ];
      await pgQuery('public', `CREATE SCHEMA ${schema}`);
      await pgQuery(
        schema,
        `CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL);
         CREATE TABLE events (seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, model TEXT NOT NULL,
           version TEXT NOT NULL, device_id TEXT NOT NULL, type TEXT NOT NULL, ts BIGINT NOT NULL,
           received_at BIGINT NOT NULL, input_hash TEXT, prediction_id TEXT, label TEXT,
           confidence DOUBLE PRECISION, reason TEXT, body TEXT NOT NULL);
         CREATE INDEX events_model_type ON events (model, type, seq);
         CREATE INDEX events_model_type_received ON events (model, type, received_at);`,
      );
      for (const e of events)
        await pgQuery(
          schema,
          `INSERT INTO events (id, model, version, device_id, type, ts, received_at, input_hash, body)
           VALUES ($1, $2, 'v1', 'd', 'prediction', 1, $3, $4, $5)`,
          [e.id, e.model, NOW, e.inputHash, JSON.stringify(e)],
        );
      // Every table but events as the later migrations would make it is not needed for this one: mark them done.
      for (const name of names.filter((n) => n !== '401_events_partitioned'))
        await pgQuery(schema, 'INSERT INTO schema_migrations VALUES ($1, 0)', [name]);
      const storage = s.open();
      await storage.migrate();
      const rows = await pgQuery<{ seq: number; id: string; where: string }>(
        schema,
        'SELECT seq::int, id, tableoid::regclass::text AS where FROM events ORDER BY seq',
      );
      assert.deepEqual(
        rows.map((r) => [r.seq, r.id, r.where]),
        [
          [1, events[0]!.id, partitionOf(NOW - 3 * DAY)],
          [2, events[1]!.id, partitionOf(NOW)],
          [3, events[2]!.id, 'events_default'],
        ],
      );
      assert.deepEqual(await storage.events.insert(events, NOW + DAY), { inserted: 0, duplicates: 3 });
      const next = prediction({ seed: 53, reason: 'sample' });
      await storage.events.insert([next], NOW);
      const [last] = await pgQuery<{ seq: number }>(schema, 'SELECT seq::int FROM events WHERE id = $1', [next.id]);
      // Past the migrated rows (a conflicting insert draws a seq too, as before).
      assert.ok(last!.seq > 3, String(last!.seq));
      await storage.close();
    } finally {
      await s.destroy();
    }
  });
});
