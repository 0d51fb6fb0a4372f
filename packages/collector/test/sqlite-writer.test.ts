/**
 * The embedded store's ingest writer: a thread with its own durable connection, so a commit that waits (on a
 * lock, on an fsync) holds up no other request; what is queued at close is committed; a writer that dies fails
 * only what it held, and the next write starts a new one. And migration 003: a store made before it keeps
 * working, its old predictions found by input hash through the new index.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import type { App } from '@edgeloop/collector';
import type { Event } from '@edgeloop/protocol';
import { bearer, KEYS, makeApp, makeStore, type TestStore } from './helpers/stores.js';
import { predictions } from './helpers/events.js';
import { correction, freeze, examplesOf, prediction } from './helpers/labels.js';
import {
  migrateSqlite,
  openSqlite,
  sqliteBatchMigrations as batchMigrations,
  sqliteEventMigrations as eventMigrations,
  sqliteEventWriter,
  sqliteLabelMigrations as labelMigrations,
} from '@edgeloop/collector/internal';

const send = (app: App, events: Event[]) =>
  app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { 'content-type': 'application/json', ...bearer(KEYS.ingest) },
    payload: JSON.stringify({ events }),
  });

const sqlitePath = (s: TestStore) => (s.options as { sqlite: { path: string } }).sqlite.path;

describe('SQLite ingest writer', () => {
  let app: App;
  let testStore: TestStore;
  let close: () => Promise<void>;
  before(async () => {
    ({ app, store: testStore, close } = await makeApp('sqlite'));
  });
  after(() => close());

  test('the writer connection is durable: WAL and synchronous=FULL', async () => {
    await send(app, predictions(1)); // the writer starts with the first write
    const writer = sqliteEventWriter(app.storage)!;
    assert.equal(await writer.pragma('journal_mode'), 'wal');
    assert.equal(await writer.pragma('synchronous'), 2, 'FULL');
  });

  test('a commit waiting on a lock holds up no other request, and is stored once the lock goes', async () => {
    const other = new Database(sqlitePath(testStore));
    other.exec('BEGIN EXCLUSIVE');
    const events = predictions(20, { model: 'waits' });
    let answered = false;
    const ingest = send(app, events).then((r) => ((answered = true), r));
    try {
      // The writer thread waits on the lock (up to its 10 s busy timeout); the event loop goes on serving.
      for (let i = 0; i < 5; i++) assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      assert.equal(answered, false, 'the ingest was answered while the database was locked');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    const r = await ingest;
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), { accepted: 20, duplicates: 0, rejected: [] });
    assert.equal(await app.storage.events.count({ model: 'waits' }), 20);
  });

  test('a writer that dies answers what it held with 200 or 503, never hangs, and the next write starts a new one', async () => {
    const writer = sqliteEventWriter(app.storage)!;
    const events = predictions(50, { model: 'crash' });
    const pending = send(app, events);
    await writer.terminate!();
    const first = await pending;
    assert.ok([200, 503].includes(first.statusCode), first.body);
    if (first.statusCode === 503) assert.equal(first.json().code, 'EL_STORAGE_UNAVAILABLE');
    // The device resends whatever was not acked; the server keeps one copy of each.
    const again = await send(app, events);
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.json().accepted, 50);
    assert.equal(await app.storage.events.count({ model: 'crash' }), 50);
  });

  test('writes still queued when the store closes are committed before it closes', async () => {
    const s = await makeStore('sqlite');
    try {
      const storage = s.open();
      await storage.migrate();
      const batches = Array.from({ length: 10 }, () => predictions(30, { model: 'closing' }));
      const results = batches.map((b, i) => storage.events.insert(b, i));
      await storage.close();
      assert.deepEqual(
        await Promise.all(results),
        batches.map(() => ({ inserted: 30, duplicates: 0 })),
      );
      const reopened = s.open();
      await reopened.migrate();
      assert.equal(await reopened.events.count({ model: 'closing' }), 300);
      await reopened.close();
      await assert.rejects(storage.events.insert(predictions(1), 1), { name: 'StorageUnavailableError' });
    } finally {
      await s.destroy();
    }
  });
});

describe('SQLite migration 003_event_indexes', () => {
  test('a prediction is found by input hash whatever insertion epoch (65,536 events) it is in', async () => {
    const { app, store: s, close } = await makeApp('sqlite');
    try {
      const first = prediction({ seed: 11, withInput: false }); // the corrected one carries no input…
      await app.storage.events.insert([first, correction(first, '4', 'device-c')], 1);
      // …the same input from another device, stored three epochs later, does.
      const db = new Database(sqlitePath(s));
      db.prepare("UPDATE sqlite_sequence SET seq = seq + 3 * 65536 WHERE name = 'events'").run();
      db.close();
      const later = prediction({ seed: 11, deviceId: 'device-q' });
      await app.storage.events.insert([later], 2);
      const r = await freeze(app);
      assert.equal(r.statusCode, 201, r.body);
      const { lines } = await examplesOf(app, r.json().id);
      assert.deepEqual(
        lines.map((e) => [e.inputHash, e.label, e.input]),
        [[first.inputHash, '4', later.input]],
      );
    } finally {
      await close();
    }
  });

  test('a store made before it keeps its events, and their inputs are found by hash after it', async () => {
    const s = await makeStore('sqlite');
    try {
      // The store as the collector left it before 003: the (model, input_hash) index, events already in.
      const old = openSqlite({ path: sqlitePath(s) });
      migrateSqlite(old, [
        ...eventMigrations.filter((m) => m.name !== '003_event_indexes'),
        ...labelMigrations,
        ...batchMigrations,
      ]);
      const p = prediction({ seed: 7 });
      const c = correction(p, '3', 'device-c');
      const insert = old.prepare(
        'INSERT INTO events (id, model, version, device_id, type, ts, received_at, input_hash, prediction_id, label, confidence, reason, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      insert.run(
        p.id,
        p.model,
        p.version,
        p.deviceId,
        p.type,
        p.ts,
        1,
        p.inputHash,
        null,
        p.output.label,
        p.output.confidence,
        p.reason,
        JSON.stringify(p),
      );
      insert.run(
        c.id,
        c.model,
        c.version,
        c.deviceId,
        c.type,
        c.ts,
        2,
        null,
        c.predictionId,
        c.label,
        null,
        null,
        JSON.stringify(c),
      );
      old.close();

      const { app, close } = await makeApp('sqlite', { storage: s.options });
      try {
        const check = new Database(sqlitePath(s), { readonly: true });
        const indexes = check
          .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'")
          .pluck()
          .all();
        check.close();
        assert.ok(indexes.includes('events_input_key'), `indexes: ${indexes.join(', ')}`);
        assert.ok(
          !indexes.includes('events_input_hash') && !indexes.includes('events_model_type'),
          'the old indexes are dropped',
        );
        assert.deepEqual(await app.storage.events.get(p.id), p);
        const r = await freeze(app);
        assert.equal(r.statusCode, 201, r.body);
        const { lines: examples } = await examplesOf(app, r.json().id);
        assert.deepEqual(
          examples.map((e) => [e.inputHash, e.label, e.input]),
          [[p.inputHash, '3', p.input]],
        );
      } finally {
        await close();
      }
    } finally {
      await s.destroy();
    }
  });
});
