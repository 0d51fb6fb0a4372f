import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { makeApp, STORE_KINDS, type StoreKind } from './helpers/stores.js';
import type { App } from '@edgeloop/collector';

for (const kind of STORE_KINDS) {
  describe(`probes (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    before(async () => ({ app, close } = await makeApp(kind as StoreKind)));
    after(() => close());

    test('healthz answers without a key', async () => {
      const r = await app.inject({ method: 'GET', url: '/healthz' });
      assert.equal(r.statusCode, 200);
      assert.deepEqual(r.json(), { ok: true });
    });

    test('readyz reports the reachable store', async () => {
      const r = await app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(r.statusCode, 200);
      assert.deepEqual(r.json(), { ok: true, storage: kind });
    });

    test('readyz answers 503 with Retry-After when storage is down', async () => {
      await app.storage.close();
      const r = await app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(r.statusCode, 503);
      assert.equal(r.headers['retry-after'], '5');
      assert.equal(r.json().code, 'EL_STORAGE_UNAVAILABLE');
    });
  });
}
