/** The golden set on both stores: upload, immutability, explicit replacement, export, and never trained on. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '@edgeloop/collector';
import { bearer, KEYS, makeApp, STORE_KINDS } from './helpers/stores.js';
import { examplesOf, freeze, labeled, makeInput, MODEL, sha256 } from './helpers/labels.js';

const example = (seed: number, label = String(seed % 10)) => ({ ...makeInput(seed), label });
const ndjson = (items: object[]) => items.map((i) => JSON.stringify(i)).join('\n') + '\n';

for (const kind of STORE_KINDS) {
  describe(`golden set (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    before(async () => ({ app, close } = await makeApp(kind)));
    after(() => close());

    const put = (payload: string | object, key: string = KEYS.trainer, query = '') =>
      app.inject({
        method: 'PUT',
        url: `/v1/models/${MODEL}/golden${query}`,
        headers: {
          ...bearer(key),
          'content-type': typeof payload === 'string' ? 'application/x-ndjson' : 'application/json',
        },
        payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      });
    const get = () => app.inject({ method: 'GET', url: `/v1/models/${MODEL}/golden`, headers: bearer(KEYS.trainer) });

    let golden: { id: string; sha256: string };

    test('a model without a golden set says how to upload one', async () => {
      const r = await get();
      assert.equal(r.statusCode, 404);
      assert.equal(r.json().code, 'EL_NO_GOLDEN_SET');
      assert.match(r.json().message, /PUT \/v1\/models\/digits\/golden/);
    });

    test('a trainer uploads a golden set as NDJSON and reads it back with split golden', async () => {
      const r = await put(ndjson([example(3), example(1), example(2)]));
      assert.equal(r.statusCode, 201, r.body);
      golden = r.json();
      assert.equal(r.json().golden, true);
      assert.equal(r.json().counts.examples, 3);
      const back = await get();
      assert.equal(back.statusCode, 200);
      assert.equal(back.headers.etag, `"${golden.sha256}"`);
      assert.equal(back.headers['x-edgeloop-batch-id'], golden.id);
      assert.equal(sha256(back.body), golden.sha256);
      const lines = back.body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.deepEqual(
        lines.map((l) => l.split),
        ['golden', 'golden', 'golden'],
      );
      assert.deepEqual(
        lines.map((l) => l.inputHash),
        [1, 2, 3].map((s) => makeInput(s).inputHash).sort(),
      );
    });

    test('the golden export honours If-None-Match lists, weak tags and *', async () => {
      const tag = `"${golden.sha256}"`;
      for (const inm of [tag, `W/${tag}`, `"other", ${tag}`, '*']) {
        const r = await app.inject({
          method: 'GET',
          url: `/v1/models/${MODEL}/golden`,
          headers: { ...bearer(KEYS.trainer), 'if-none-match': inm },
        });
        assert.equal(r.statusCode, 304, inm);
      }
      const miss = await app.inject({
        method: 'GET',
        url: `/v1/models/${MODEL}/golden`,
        headers: { ...bearer(KEYS.trainer), 'if-none-match': '"other"' },
      });
      assert.equal(miss.statusCode, 200);
    });

    test('the same content again is a no-op, as JSON too', async () => {
      const r = await put({ examples: [example(1), example(2), example(3)] });
      assert.equal(r.statusCode, 200);
      assert.equal(r.json().id, golden.id);
    });

    test('a golden set is immutable unless an admin replaces it by name', async () => {
      const other = [example(1), example(2), example(4)];
      const conflict = await put(other);
      assert.equal(conflict.statusCode, 409);
      assert.equal(conflict.json().code, 'EL_GOLDEN_EXISTS');
      assert.match(conflict.json().message, new RegExp(`replaces=${golden.id}`));
      const trainer = await put(other, KEYS.trainer, `?replaces=${golden.id}`);
      assert.equal(trainer.statusCode, 403);
      const stale = await put(other, KEYS.admin, '?replaces=not-the-current-one');
      assert.equal(stale.statusCode, 409);
      const replaced = await put(other, KEYS.admin, `?replaces=${golden.id}`);
      assert.equal(replaced.statusCode, 201, replaced.body);
      assert.notEqual(replaced.json().id, golden.id);
      const old = await examplesOf(app, golden.id);
      assert.equal(sha256(old.body), golden.sha256, 'the replaced set is still there, unchanged');
      golden = replaced.json();
      assert.equal((await get()).headers['x-edgeloop-batch-id'], golden.id);
    });

    test('golden examples never appear in batches', async () => {
      // Inputs 1, 2 and 4 are golden now; 3 no longer is.
      for (const seed of [1, 2, 3, 4, 5]) await labeled(app, seed, { a: '8', b: '8' });
      const r = await freeze(app);
      assert.equal(r.statusCode, 201, r.body);
      assert.equal(r.json().counts.excludedGolden, 3);
      const hashes = (await examplesOf(app, r.json().id)).lines.map((l) => l.inputHash).sort();
      assert.deepEqual(hashes, [makeInput(3).inputHash, makeInput(5).inputHash].sort());
      const list = await app.inject({
        method: 'GET',
        url: `/v1/models/${MODEL}/batches`,
        headers: bearer(KEYS.trainer),
      });
      assert.deepEqual(
        list.json().map((b: { golden: boolean }) => b.golden),
        [false],
        'golden sets are not training batches',
      );
    });

    test('bad examples are refused with the line at fault, and nothing is stored', async () => {
      const wrongBytes = { ...example(9), input: makeInput(10).input };
      const cases: [string | object, RegExp][] = [
        [ndjson([example(9), wrongBytes]), /line 2.*inputHash/],
        [ndjson([example(9), example(9)]), /line 2.*twice/],
        [ndjson([{ ...example(9), extra: 1 }]), /line 1/],
        ['{"inputHash": \n', /line 1.*not JSON/],
        ['', /at least one/],
        [{ nope: [] }, /NDJSON lines, a JSON array/],
        [[{ ...example(9), label: '' }], /index 0/],
        ['{"__proto__":{"x":1},"inputHash":"' + makeInput(9).inputHash + '"}\n', /line 1/],
      ];
      for (const [payload, message] of cases) {
        const r = await put(payload, KEYS.admin, `?replaces=${golden.id}`);
        assert.equal(r.statusCode, 422, `${JSON.stringify(payload)} → ${r.body}`);
        assert.equal(r.json().code, 'EL_INVALID_EXAMPLE');
        assert.match(r.json().message, message);
      }
      assert.equal((await get()).headers['x-edgeloop-batch-id'], golden.id);
    });

    test('reading the golden set needs a trainer key', async () => {
      const r = await app.inject({ method: 'GET', url: `/v1/models/${MODEL}/golden`, headers: bearer(KEYS.ingest) });
      assert.equal(r.statusCode, 403);
      const w = await app.inject({
        method: 'PUT',
        url: `/v1/models/${MODEL}/golden`,
        headers: bearer(KEYS.ingest),
        payload: [],
      });
      assert.equal(w.statusCode, 403);
    });
  });
}
