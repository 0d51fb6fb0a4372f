/**
 * The collector as a process: `kill -9` under ingest load loses no acked event (both stores), and SIGTERM
 * during a request lets it finish (or answers 503) before the process exits.
 */
import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { Event } from '@edgeloop/protocol';
import { makeStore, bearer, KEYS, STORE_KINDS, type TestStore } from './helpers/stores.js';
import { startCollector as start, type CollectorProcess } from './helpers/child.js';
import { predictions } from './helpers/events.js';

function storeArgs(store: TestStore): string[] {
  if ('sqlite' in store.options) return ['--data-dir', store.dataDir];
  const url = new URL(store.options.postgres.url);
  url.searchParams.set('schema', store.options.postgres.schema);
  return ['--data-dir', store.dataDir, '--database-url', url.href];
}

async function post(url: string, events: Event[]): Promise<number> {
  const r = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(KEYS.ingest) },
    body: JSON.stringify({ events }),
  });
  await r.arrayBuffer();
  return r.status;
}

for (const kind of STORE_KINDS) {
  describe(`collector process (${kind})`, () => {
    let store: TestStore;
    const started: CollectorProcess[] = [];
    const startCollector = async (args: string[]) => {
      const proc = await start(args);
      started.push(proc);
      return proc;
    };
    before(async () => (store = await makeStore(kind)));
    after(async () => {
      // A failed test must not leave a collector running.
      for (const p of started) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await store.destroy();
    });

    test('kill -9 under ingest load, then restart: every acked event is stored', async () => {
      const first = await startCollector(storeArgs(store));
      const acked: string[] = [];
      let unacked = 0;
      let stop = false;
      const client = async () => {
        while (!stop) {
          const events = predictions(50, { model: 'crash' });
          try {
            if ((await post(first.url, events)) === 200) acked.push(...events.map((e) => e.id));
            else unacked++;
          } catch {
            unacked++; // the connection died with the process: not acked, the device would resend
          }
        }
      };
      const clients = Array.from({ length: 4 }, client);
      let exitedEarly = false;
      void first.exited.then(() => (exitedEarly = true));
      try {
        while (acked.length < 2000) {
          assert.ok(
            !exitedEarly && unacked < 200,
            `the collector stopped taking events (acked ${acked.length}, failed ${unacked}):\n${first.output()}`,
          );
          await new Promise((r) => setTimeout(r, 5));
        }
      } finally {
        first.child.kill('SIGKILL'); // the crash under load, or clean-up when the load never got going
        stop = true;
      }
      assert.equal((await first.exited).signal, 'SIGKILL');
      await Promise.all(clients);

      const second = await startCollector(storeArgs(store));
      try {
        assert.equal(
          await post(second.url, predictions(5, { model: 'after-crash' })),
          200,
          'the restarted collector takes events',
        );
        const storage = store.open();
        await storage.migrate();
        try {
          const missing: string[] = [];
          for (const id of acked) if (!(await storage.events.get(id))) missing.push(id);
          assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acked events are missing`);
          assert.ok((await storage.events.count({ model: 'crash' })) >= acked.length);
        } finally {
          await storage.close();
        }
      } finally {
        second.child.kill('SIGTERM');
        await second.exited;
      }
    });

    test('SIGTERM during a request lets it finish, then the process exits 0', async () => {
      const proc = await startCollector(storeArgs(store));
      const { port } = new URL(proc.url);
      const events = predictions(10, { model: 'sigterm' });
      const payload = JSON.stringify({ events });
      let finish = () => {};
      const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/v1/events',
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(payload),
              ...bearer(KEYS.ingest),
            },
          },
          (res) => {
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on('error', reject);
        req.write(payload.slice(0, 20));
        finish = () => req.end(payload.slice(20));
      });
      // A full round trip on another connection: the held request's headers have been read by now.
      assert.equal(await post(proc.url, []), 200);
      proc.child.kill('SIGTERM');
      await proc.waitFor(/SIGTERM: shutting down/);
      finish();
      const r = await response;
      assert.ok(r.status === 200 || r.status === 503, `status ${r.status}: ${r.body}`);
      const exit = await proc.exited;
      assert.equal(exit.code, 0, proc.output());

      const storage = store.open();
      await storage.migrate();
      try {
        const stored = await storage.events.count({ model: 'sigterm' });
        assert.equal(stored, r.status === 200 ? 10 : 0, 'acked means stored; 503 means nothing stored');
      } finally {
        await storage.close();
      }
    });
  });
}
