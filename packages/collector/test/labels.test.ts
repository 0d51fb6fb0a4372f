/** Label resolution through the API, on both stores: majority, tie, reviewer override, a flooding device. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '@edgeloop/collector';
import { bearer, KEYS, makeApp, STORE_KINDS } from './helpers/stores.js';
import { examplesOf, freeze, labeled, makeInput, MODEL, prediction, store, correction } from './helpers/labels.js';

for (const kind of STORE_KINDS) {
  describe(`label resolution (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    before(async () => ({ app, close } = await makeApp(kind)));
    after(() => close());

    const labelOf = async (batchId: string, seed: number) =>
      (await examplesOf(app, batchId)).lines.find((l) => l.inputHash === makeInput(seed).inputHash)?.label;

    test('the majority of corrections labels an input', async () => {
      await labeled(app, 1, { a: '3', b: '3', c: '5' });
      const r = await freeze(app);
      assert.equal(r.statusCode, 201, r.body);
      const batch = r.json();
      assert.equal(batch.counts.voted, 1);
      assert.equal(batch.counts.examples, 1);
      assert.deepEqual({ ...batch.counts.byLabel }, { '3': 1 });
      assert.equal(await labelOf(batch.id, 1), '3');
    });

    test('a device that corrects itself has one vote, its latest', async () => {
      const p = prediction({ seed: 2 });
      const first = correction(p, '4', 'a');
      const second = { ...correction(p, '7', 'a'), ts: first.ts + 1000 };
      await store(app, p, first, correction(p, '7', 'b'));
      await store(app, second);
      const batch = (await freeze(app)).json();
      assert.equal(await labelOf(batch.id, 2), '7');
      assert.equal(batch.counts.tiesSentToReview, 0);
    });

    test('a tie goes to the review queue and is not trained on', async () => {
      const p = await labeled(app, 3, { a: '1', b: '2' });
      const r = await freeze(app);
      assert.equal(r.statusCode, 409);
      assert.equal(r.json().code, 'EL_EMPTY_BATCH');
      const queue = await app.inject({ method: 'GET', url: `/v1/models/${MODEL}/review`, headers: bearer(KEYS.admin) });
      const item = queue.json().items.find((i: { inputHash: string }) => i.inputHash === p.inputHash);
      assert.ok(item, 'the tied input is in the review queue');
      assert.equal(item.reason, 'tie');
      assert.deepEqual(item.corrections.map((c: { label: string }) => c.label).sort(), ['1', '2']);
    });

    test('a reviewer label settles a tie in the next batch', async () => {
      const p = makeInput(3);
      const queue = (
        await app.inject({ method: 'GET', url: `/v1/models/${MODEL}/review`, headers: bearer(KEYS.admin) })
      ).json();
      const item = queue.items.find((i: { inputHash: string }) => i.inputHash === p.inputHash);
      const r = await app.inject({
        method: 'POST',
        url: `/v1/events/${item.predictionId}/label`,
        headers: bearer(KEYS.admin),
        payload: { label: '2' },
      });
      assert.equal(r.statusCode, 201, r.body);
      const batch = (await freeze(app)).json();
      assert.equal(batch.counts.reviewed, 1);
      assert.equal(await labelOf(batch.id, 3), '2');
    });

    test("a reviewer's label wins over a unanimous vote", async () => {
      const p = await labeled(app, 4, { a: '6', b: '6', c: '6' });
      const r = await app.inject({
        method: 'POST',
        url: `/v1/events/${p.id}/label`,
        headers: bearer(KEYS.admin),
        payload: { label: '8', comment: 'a clear 8' },
      });
      assert.equal(r.statusCode, 201, r.body);
      assert.equal(r.json().reviewer, 'seed-admin');
      const batch = (await freeze(app)).json();
      assert.equal(await labelOf(batch.id, 4), '8');
      assert.equal(batch.counts.reviewed, 1);
      assert.equal(batch.counts.voted, 0);
    });

    test('one device flooding wrong labels is capped and outvoted', async () => {
      for (let seed = 100; seed < 160; seed++) {
        await labeled(app, seed, {
          flood: 'X',
          [`honest-${seed}-a`]: String(seed % 10),
          [`honest-${seed}-b`]: String(seed % 10),
        });
      }
      // The flooder also labels inputs nobody else saw: only what is left of its cap counts.
      for (let seed = 200; seed < 220; seed++) await labeled(app, seed, { flood: 'X' });
      const batch = (await freeze(app)).json();
      const lines = (await examplesOf(app, batch.id)).lines;
      for (let seed = 100; seed < 160; seed++) {
        assert.equal(
          lines.find((l) => l.inputHash === makeInput(seed).inputHash)?.label,
          String(seed % 10),
          `input ${seed}`,
        );
      }
      assert.equal(batch.counts.cappedByDevice, 30, 'the flooder had 80 votes and 50 counted');
      assert.equal(batch.counts.byLabel.X ?? 0, 0, 'the first 50 flood votes were all outvoted');
      assert.equal(batch.counts.examples, 60);
    });

    test('the per-device cap can be lowered for one batch', async () => {
      for (let seed = 300; seed < 305; seed++) await labeled(app, seed, { lonely: 'Y' });
      const batch = (await freeze(app, MODEL, '?maxLabelsPerDevice=2')).json();
      assert.equal(batch.counts.examples, 2);
      assert.equal(batch.counts.cappedByDevice, 3);
    });

    test('labeling something that is not a prediction is refused with a clear code', async () => {
      const p = prediction({ seed: 400 });
      const c = correction(p, '1', 'a');
      await store(app, p, c);
      const r = await app.inject({
        method: 'POST',
        url: `/v1/events/${c.id}/label`,
        headers: bearer(KEYS.admin),
        payload: { label: '1' },
      });
      assert.equal(r.statusCode, 422);
      assert.equal(r.json().code, 'EL_NOT_A_PREDICTION');
      const missing = await app.inject({
        method: 'POST',
        url: '/v1/events/01890000-0000-7000-8000-000000000000/label',
        headers: bearer(KEYS.admin),
        payload: { label: '1' },
      });
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json().code, 'EL_NOT_FOUND');
    });

    test('reviewing and freezing need the right keys', async () => {
      const p = prediction({ seed: 401 });
      await store(app, p);
      const asTrainer = await app.inject({
        method: 'POST',
        url: `/v1/events/${p.id}/label`,
        headers: bearer(KEYS.trainer),
        payload: { label: '1' },
      });
      assert.equal(asTrainer.statusCode, 403);
      const queue = await app.inject({
        method: 'GET',
        url: `/v1/models/${MODEL}/review`,
        headers: bearer(KEYS.trainer),
      });
      assert.equal(queue.statusCode, 403);
      const asIngest = await app.inject({
        method: 'POST',
        url: `/v1/models/${MODEL}/batches`,
        headers: bearer(KEYS.ingest),
      });
      assert.equal(asIngest.statusCode, 403);
      const asAdmin = await app.inject({
        method: 'POST',
        url: `/v1/models/${MODEL}/batches`,
        headers: bearer(KEYS.admin),
      });
      assert.ok([201, 409].includes(asAdmin.statusCode), `admin may freeze, got ${asAdmin.statusCode}`);
      const anonymous = await app.inject({ method: 'GET', url: `/v1/models/${MODEL}/batches` });
      assert.equal(anonymous.statusCode, 401);
    });
  });
}
