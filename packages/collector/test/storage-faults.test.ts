/**
 * Storage unavailable → 503 with Retry-After, never a false 200, nothing half-stored, and everything arrives
 * once the client resends after recovery. Real faults: a SQLite write lock held by another connection, a
 * SQLite database that is full, a PostgreSQL that cannot be reached, and PostgreSQL backends terminated mid-write.
 */
import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import pg from 'pg';
import { buildApp, type App } from '@edgeloop/collector';
import { sqliteConnection, sqliteEventWriter } from '@edgeloop/collector/internal';
import type { Event } from '@edgeloop/protocol';
import { makeApp, makeStore, bearer, KEYS, PG_URL, type TestStore } from './helpers/stores.js';

/** Waits until a backend of `appName` waits on a lock (`what` is its request), then terminates it. */
async function terminateLockWaiter(admin: pg.Client, appName: string, what: string): Promise<void> {
  let pid: number | undefined;
  for (let i = 0; i < 500 && pid === undefined; i++) {
    const { rows } = await admin.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
      [appName],
    );
    pid = rows[0]?.pid;
    if (pid === undefined) await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(pid, `${what} is waiting on the lock`);
  await admin.query('SELECT pg_terminate_backend($1)', [pid]);
}
import { predictions } from './helpers/events.js';

const send = (app: App, events: Event[]) =>
  app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { 'content-type': 'application/json', ...bearer(KEYS.ingest) },
    payload: JSON.stringify({ events }),
  });

function assertUnavailable(r: Awaited<ReturnType<typeof send>>): void {
  assert.equal(r.statusCode, 503, r.body);
  assert.equal(r.json().code, 'EL_STORAGE_UNAVAILABLE');
  assert.equal(r.headers['retry-after'], '5');
}

describe('SQLite unavailable', () => {
  let store: TestStore;
  let app: App;
  before(async () => {
    store = await makeStore('sqlite');
    const path = (store.options as { sqlite: { path: string } }).sqlite.path;
    app = await buildApp({
      storage: { sqlite: { path, busyTimeoutMs: 50 } },
      dataDir: store.dataDir,
      seedKeys: KEYS,
      controller: false,
      rateLimit: false,
    });
  });
  after(async () => {
    await app.close();
    await store.destroy();
  });

  test('a write lock held by another connection → 503 with Retry-After; the resend after release is stored', async () => {
    const other = new Database((store.options as { sqlite: { path: string } }).sqlite.path);
    other.exec('BEGIN EXCLUSIVE');
    const events = predictions(50, { model: 'locked' });
    try {
      assertUnavailable(await send(app, events));
      assert.equal(other.prepare("SELECT count(*) FROM events WHERE model = 'locked'").pluck().get(), 0);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    const r = await send(app, events);
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(await app.storage.events.count({ model: 'locked' }), 50);
  });

  test('a full database → 503 and nothing half-stored; the resend after space is freed is stored', async () => {
    // Ingest writes on its own connection (the writer thread): the cap is set there.
    const writer = sqliteEventWriter(app.storage)!;
    const pages = (await writer.pragma('page_count')) as number;
    await writer.pragma(`max_page_count = ${pages}`); // the file may not grow: the next page it needs fails with SQLITE_FULL
    const events = predictions(300, { model: 'full' });
    try {
      assertUnavailable(await send(app, events));
      assert.equal(await app.storage.events.count({ model: 'full' }), 0, 'the failed transaction left nothing behind');
    } finally {
      await writer.pragma('max_page_count = 1073741823');
    }
    const r = await send(app, events);
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), { accepted: 300, duplicates: 0, rejected: [] });
    assert.equal(await app.storage.events.count({ model: 'full' }), 300);
  });

  test('concurrent requests that share a group commit all fail together and all arrive on resend', async () => {
    const other = new Database((store.options as { sqlite: { path: string } }).sqlite.path);
    other.exec('BEGIN EXCLUSIVE');
    const batches = Array.from({ length: 5 }, () => predictions(20, { model: 'group' }));
    try {
      const results = await Promise.all(batches.map((b) => send(app, b)));
      for (const r of results) assertUnavailable(r);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    const results = await Promise.all(batches.map((b) => send(app, b)));
    for (const r of results) assert.equal(r.statusCode, 200);
    assert.equal(await app.storage.events.count({ model: 'group' }), 100);
  });
});

/** A TCP proxy in front of PostgreSQL that the test can cut and restore: a real network outage. */
class Cable {
  private server: Server | undefined;
  private sockets = new Set<Socket>();
  port = 0;
  async plug(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(Number(new URL(PG_URL).port || 5432), new URL(PG_URL).hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }
  async cut(): Promise<void> {
    const closed = new Promise((r) => this.server!.close(r));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

test('SQLite: a connection that was closed under the collector → 503 EL_STORAGE_UNAVAILABLE (told by its state, not its message)', async () => {
  const { app, close } = await makeApp('sqlite');
  try {
    const ok = await app.inject({ method: 'GET', url: '/v1/models/closed/batches', headers: bearer(KEYS.trainer) });
    assert.equal(ok.statusCode, 200, ok.body);
    sqliteConnection(app.storage)!.close();
    const r = await app.inject({ method: 'GET', url: '/v1/models/closed/batches', headers: bearer(KEYS.trainer) });
    assert.equal(r.statusCode, 503, r.body);
    assert.equal(r.json().code, 'EL_STORAGE_UNAVAILABLE');
  } finally {
    await close();
  }
});

describe('PostgreSQL unavailable', () => {
  let store: TestStore;
  let app: App;
  const cable = new Cable();
  const appName = `edgeloop-fault-${process.pid}`;
  before(async () => {
    store = await makeStore('postgres');
    await cable.plug();
    const url = new URL(PG_URL);
    url.port = String(cable.port);
    url.searchParams.set('application_name', appName);
    const schema = (store.options as { postgres: { schema: string } }).postgres.schema;
    app = await buildApp({
      storage: { postgres: { url: url.href, schema, connectTimeoutMs: 1000 } },
      dataDir: store.dataDir,
      seedKeys: KEYS,
      controller: false,
      rateLimit: false,
    });
  });
  after(async () => {
    await app.close();
    await cable.cut().catch(() => {});
    await store.destroy();
  });

  test('an unreachable database → 503 with Retry-After; everything arrives after it is back', async () => {
    const before = predictions(10, { model: 'outage' });
    assert.equal((await send(app, before)).statusCode, 200);
    await cable.cut();
    const during = predictions(10, { model: 'outage' });
    assertUnavailable(await send(app, during));
    assertUnavailable(await send(app, during));
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 503);
    await cable.plug();
    const r = await send(app, during);
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(await app.storage.events.count({ model: 'outage' }), 20);
  });

  test('a backend terminated in the middle of a write → 503; the resend is stored once', async () => {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    const schema = (store.options as { postgres: { schema: string } }).postgres.schema;
    const events = predictions(25, { model: 'terminated' });
    try {
      // Hold a lock so the collector's INSERT is provably in flight, then terminate its backend.
      await admin.query('BEGIN');
      await admin.query(`LOCK TABLE ${schema}.events IN EXCLUSIVE MODE`);
      const pending = send(app, events);
      await terminateLockWaiter(admin, appName, 'the collector INSERT');
      assertUnavailable(await pending);
      await admin.query('ROLLBACK');
    } finally {
      await admin.end();
    }
    assert.equal(await app.storage.events.count({ model: 'terminated' }), 0);
    const r = await send(app, events);
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), { accepted: 25, duplicates: 0, rejected: [] });
    assert.equal(await app.storage.events.count({ model: 'terminated' }), 25);
  });

  test('a backend terminated inside a transaction → 503, and the collector lives on (found by the soak)', async () => {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    const schema = (store.options as { postgres: { schema: string } }).postgres.schema;
    const lease = (body: object, url = '/v1/models/in-tx/lease') =>
      app.inject({ method: 'POST', url, headers: bearer(KEYS.trainer), payload: body });
    const claimed = await lease({ holder: 'trainer-a', ttlMs: 60_000 });
    assert.equal(claimed.statusCode, 200, claimed.body);
    const { leaseId } = claimed.json() as { leaseId: string };
    try {
      // A renew waits for the lease's row lock inside its transaction: a client checked out of the pool, which
      // has no pool listener for its 'error' event while it is held.
      await admin.query('BEGIN');
      await admin.query(`SELECT * FROM ${schema}.training_leases WHERE model = 'in-tx' FOR UPDATE`);
      const pending = lease({ ttlMs: 60_000 }, `/v1/models/in-tx/lease/${leaseId}/renew`);
      await terminateLockWaiter(admin, appName, 'the renew');
      assertUnavailable(await pending);
      await admin.query('ROLLBACK');
    } finally {
      await admin.end();
    }
    // An unhandled 'error' on that client would have ended this process; the next request is served.
    const again = await lease({ ttlMs: 60_000 }, `/v1/models/in-tx/lease/${leaseId}/renew`);
    assert.equal(again.statusCode, 200, again.body);
  });
});
