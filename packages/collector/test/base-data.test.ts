/** Base data on both stores: upload, read back for replay, replacement that keeps the earlier set, and never a batch. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '@edgeloop/collector';
import { bearer, KEYS, makeApp, STORE_KINDS } from './helpers/stores.js';
import { examplesOf, freeze, labeled, makeInput, MODEL, sha256 } from './helpers/labels.js';

const example = (seed: number, label = String(seed % 10)) => ({ ...makeInput(seed), label });
const ndjson = (items: object[]) => items.map((i) => JSON.stringify(i)).join('\n') + '\n';

for (const kind of STORE_KINDS) {
  describe(`base data (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    before(async () => ({ app, close } = await makeApp(kind)));
    after(() => close());

    const put = (payload: string | object, key: string = KEYS.trainer) =>
      app.inject({
        method: 'PUT',
        url: `/v1/models/${MODEL}/base-data`,
        headers: {
          ...bearer(key),
          'content-type': typeof payload === 'string' ? 'application/x-ndjson' : 'application/json',
        },
        payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      });
    const get = () =>
      app.inject({ method: 'GET', url: `/v1/models/${MODEL}/base-data`, headers: bearer(KEYS.trainer) });

    let first: { id: string; sha256: string };

    test('a model without base data says how to upload it', async () => {
      const r = await get();
      assert.equal(r.statusCode, 404);
      assert.equal(r.json().code, 'EL_NO_BASE_DATA');
      assert.match(r.json().message, /PUT \/v1\/models\/digits\/base-data/);
    });

    test('a trainer uploads base data as NDJSON and reads it back with split train', async () => {
      const r = await put(ndjson([example(3), example(1), example(2)]));
      assert.equal(r.statusCode, 201, r.body);
      first = r.json();
      assert.equal(r.json().counts.examples, 3);
      const back = await get();
      assert.equal(back.statusCode, 200);
      assert.equal(back.headers.etag, `"${first.sha256}"`);
      assert.equal(back.headers['x-edgeloop-batch-id'], first.id);
      const lines = back.body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.deepEqual(
        lines.map((l) => l.split),
        ['train', 'train', 'train'],
      );
      assert.deepEqual(
        lines.map((l) => l.inputHash),
        [1, 2, 3].map((s) => makeInput(s).inputHash).sort(),
      );
      const again = await put({ examples: [example(1), example(2), example(3)] });
      assert.equal(again.statusCode, 200, 'the same content again is a no-op');
      assert.equal(again.json().id, first.id);
    });

    test('new base data replaces the current set, and the earlier one stays readable by id', async () => {
      const r = await put([example(4), example(5)]);
      assert.equal(r.statusCode, 201, r.body);
      assert.notEqual(r.json().id, first.id);
      assert.equal((await get()).headers['x-edgeloop-batch-id'], r.json().id);
      const old = await examplesOf(app, first.id);
      assert.equal(sha256(old.body), first.sha256, 'the replaced set is still there, unchanged');
    });

    test('base data is never listed as a batch, and its inputs may still be labeled into batches', async () => {
      for (const seed of [4, 6]) await labeled(app, seed, { a: '8', b: '8' });
      const r = await freeze(app);
      assert.equal(r.statusCode, 201, r.body);
      assert.equal(r.json().counts.excludedGolden, 0);
      const hashes = (await examplesOf(app, r.json().id)).lines.map((l) => l.inputHash).sort();
      assert.deepEqual(hashes, [makeInput(4).inputHash, makeInput(6).inputHash].sort());
      const list = await app.inject({
        method: 'GET',
        url: `/v1/models/${MODEL}/batches`,
        headers: bearer(KEYS.trainer),
      });
      assert.deepEqual(
        list.json().map((b: { id: string }) => b.id),
        [r.json().id],
      );
    });

    test('bad examples are refused and base data needs a trainer key', async () => {
      const bad = await put(ndjson([example(9), example(9)]));
      assert.equal(bad.statusCode, 422);
      assert.equal(bad.json().code, 'EL_INVALID_EXAMPLE');
      const empty = await put('');
      assert.match(empty.json().message, /a base data set needs at least one example/);
      assert.equal(
        (await app.inject({ method: 'GET', url: `/v1/models/${MODEL}/base-data`, headers: bearer(KEYS.ingest) }))
          .statusCode,
        403,
      );
      assert.equal((await put([example(9)], KEYS.ingest)).statusCode, 403);
    });
  });
}
