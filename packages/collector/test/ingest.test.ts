import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import type { App } from '@edgeloop/collector';
import { MAX_BODY_BYTES } from '@edgeloop/protocol';
import { makeApp, bearer, KEYS, STORE_KINDS } from './helpers/stores.js';
import { prediction, predictions, correction, errorEvent } from './helpers/events.js';

const post = (app: App, body: unknown, headers: Record<string, string> = {}, url = '/v1/events') =>
  app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...bearer(KEYS.ingest), ...headers },
    payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });

for (const kind of STORE_KINDS) {
  describe(`ingest (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    before(async () => ({ app, close } = await makeApp(kind)));
    after(() => close());

    test('stores a batch and acks with counts', async () => {
      const events = [prediction(), errorEvent()];
      events.push(correction(events[0]!.id, '3'));
      const r = await post(app, { events });
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json(), { accepted: 3, duplicates: 0, rejected: [] });
      for (const e of events) assert.deepEqual(await app.storage.events.get(e.id), e);
    });

    test('the same batch sent twice after a lost ack gets two 200s and one row per id', async () => {
      const events = predictions(20, { model: 'resend' });
      const first = await post(app, { events });
      const second = await post(app, { events });
      assert.equal(first.statusCode, 200);
      assert.equal(second.statusCode, 200);
      assert.deepEqual(first.json(), { accepted: 20, duplicates: 0, rejected: [] });
      assert.deepEqual(second.json(), { accepted: 20, duplicates: 20, rejected: [] });
      assert.equal(await app.storage.events.count({ model: 'resend' }), 20);
    });
  });
}
