/** Shutdown order on both stores: the canary controller stops first, requests drain, the store closes last. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildApp, type Storage } from '@edgeloop/collector';
import { KEYS, makeStore, STORE_KINDS, type TestStore } from './helpers/stores.js';

/** An opened store whose controller calls are logged (and `lead` slowed down), as is its `close`. */
async function watchedStore(store: TestStore, leadMs = 100): Promise<{ storage: Storage; log: string[] }> {
  const storage = store.open();
  await storage.migrate();
  const log: string[] = [];
  const { rollout } = storage;
  const lead = rollout.lead.bind(rollout);
  const automated = rollout.automated.bind(rollout);
  const close = storage.close.bind(storage);
  rollout.lead = async () => {
    log.push('lead');
    await sleep(leadMs);
    return lead();
  };
  rollout.automated = async () => {
    log.push('automated');
    return automated();
  };
  storage.close = async () => {
    log.push('close');
    return close();
  };
  return { storage, log };
}

for (const kind of STORE_KINDS) {
  describe(`shutdown order (${kind})`, () => {
    let store: TestStore;
    before(async () => (store = await makeStore(kind)));
    after(() => store.destroy());

    const build = (storage: Storage | TestStore['options'], controller: { tickMs: number } | false = false) =>
      buildApp({ storage, dataDir: store.dataDir, seedKeys: KEYS, controller, rateLimit: false });

    test('close resolves on an app closed right after it was built, without the controller', async () => {
      // No seed keys either: nothing has touched the store since its migration.
      const app = await buildApp({ storage: store.options, dataDir: store.dataDir, controller: false });
      await app.close();
    });

    test('close waits for a running controller pass, then closes the store', async () => {
      const { storage, log } = await watchedStore(store);
      const app = await build(storage);
      const pass = app.rolloutController.tick();
      await app.close();
      assert.deepEqual(await pass, [], 'the pass finished on an open store');
      assert.deepEqual(log, ['lead', 'automated', 'close']);
    });

    test('a ticking controller is stopped before the store closes', async () => {
      const { storage, log } = await watchedStore(store, 30);
      const app = await build(storage, { tickMs: 10 });
      await app.ready();
      while (!log.includes('automated')) await sleep(5);
      await app.close();
      assert.equal(log.at(-1), 'close', `nothing touches the store after close: ${log.join(', ')}`);
      await sleep(50);
      assert.equal(log.at(-1), 'close', 'no tick after close');
    });
  });
}
