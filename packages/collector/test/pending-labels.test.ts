/**
 * `GET /v1/models/:model/labels/pending` on both stores: the freeze's dry run. Its count is what the next freeze
 * produces (votes, reviews, ties, the per-device cap, golden inputs, inputs without bytes), and it writes nothing.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '@edgeloop/collector';
import { bearer, KEYS, makeApp, STORE_KINDS } from './helpers/stores.js';
import { correction, freeze, labeled, makeInput, MODEL, prediction, store } from './helpers/labels.js';

interface Pending {
  model: string;
  pending: number;
  counts: Record<string, number> & { byLabel: Record<string, number> };
  since: number | null;
  lastBatch: string | null;
}

for (const kind of STORE_KINDS) {
  describe(`pending labels (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    before(async () => ({ app, close } = await makeApp(kind)));
    after(() => close());

    async function pending(query = '', key: string = KEYS.trainer): Promise<Pending> {
      const r = await app.inject({
        method: 'GET',
        url: `/v1/models/${MODEL}/labels/pending${query}`,
        headers: bearer(key),
      });
      assert.equal(r.statusCode, 200, r.body);
      return r.json();
    }

    /** Asks for the pending count, freezes, and checks that the batch is exactly what was announced. */
    async function pendingThenFreeze(
      query = '',
    ): Promise<{ said: Pending; batch: { id: string; createdAt: number; counts: Pending['counts'] } | null }> {
      const said = await pending(query);
      const r = await freeze(app, MODEL, query);
      if (said.pending === 0) {
        assert.equal(r.statusCode, 409, `nothing was pending, so the freeze is empty: ${r.body}`);
        return { said, batch: null };
      }
      assert.equal(r.statusCode, 201, r.body);
      const batch = r.json();
      assert.equal(batch.counts.examples, said.pending, 'the freeze produced what was pending');
      assert.deepEqual(batch.counts, said.counts, 'the preview has the batch counts');
      return { said, batch };
    }

    test('a model with nothing labeled has nothing pending and no batch yet', async () => {
      await store(app, prediction({ seed: 1, reason: 'sample' }));
      const said = await pending();
      assert.deepEqual(
        { ...said, counts: undefined },
        { model: MODEL, pending: 0, counts: undefined, since: null, lastBatch: null },
      );
      assert.equal(said.counts.examples, 0);
      assert.equal((await freeze(app)).statusCode, 409);
    });

    test('the count is what the next freeze produces: votes, reviews, ties and inputs without bytes', async () => {
      await labeled(app, 10, { a: '3', b: '3', c: '5' }); // plurality: 3
      await labeled(app, 11, { a: '1', b: '2', c: '4' }); // three-way tie: review queue
      await labeled(app, 12, { a: '6', b: '7' }); // tie
      const reviewed = await labeled(app, 13, { a: '1', b: '2' }); // a tie a reviewer settles
      const review = await app.inject({
        method: 'POST',
        url: `/v1/events/${reviewed.id}/label`,
        headers: bearer(KEYS.admin),
        payload: { label: '9' },
      });
      assert.equal(review.statusCode, 201, review.body);
      await labeled(app, 14, { a: '8' }, { withInput: false }); // labeled, but no bytes to train on
      for (let seed = 20; seed < 25; seed++) await labeled(app, seed, { [`d-${seed}`]: String(seed % 10) });

      const { said, batch } = await pendingThenFreeze();
      assert.equal(said.pending, 7);
      assert.equal(said.counts.tiesSentToReview, 2);
      assert.equal(said.counts.withoutInput, 1);
      assert.equal(said.counts.reviewed, 1);
      assert.equal(said.counts.voted, 6);
      assert.deepEqual({ ...said.counts.byLabel }, { '0': 1, '1': 1, '2': 1, '3': 2, '4': 1, '9': 1 });
      const after = await pending();
      assert.equal(after.pending, 0, 'a freeze consumes what it froze');
      assert.equal(after.lastBatch, batch!.id);
      assert.equal(after.since, batch!.createdAt);
    });

    test('the per-device cap applies as in the freeze, also when lowered for one request', async () => {
      // A device flooding labels on inputs nobody else saw: only its first 50 (the default cap) count.
      for (let seed = 100; seed < 160; seed++) await labeled(app, seed, { flood: 'X' });
      const capped = await pending();
      assert.equal(capped.pending, 50);
      assert.equal(capped.counts.cappedByDevice, 10);
      const lowered = await pending('?maxLabelsPerDevice=20');
      assert.equal(lowered.pending, 20);
      assert.equal(lowered.counts.cappedByDevice, 40);
      await pendingThenFreeze('?maxLabelsPerDevice=20');
    });

    test('golden inputs are left out of the count, as out of the batch', async () => {
      const golden = [200, 201].map((seed) => ({ ...makeInput(seed), label: String(seed % 10) }));
      const put = await app.inject({
        method: 'PUT',
        url: `/v1/models/${MODEL}/golden`,
        headers: bearer(KEYS.trainer),
        payload: golden,
      });
      assert.equal(put.statusCode, 201, put.body);
      await labeled(app, 200, { a: '0', b: '0' });
      await labeled(app, 201, { a: '1' });
      await labeled(app, 202, { a: '2' });
      const { said } = await pendingThenFreeze();
      assert.equal(said.pending, 1);
      assert.equal(said.counts.excludedGolden, 2);
    });

    test('asking writes nothing: a tie reaches the review queue only when a freeze runs', async () => {
      const p = await labeled(app, 300, { a: '1', b: '2' });
      const inQueue = async () => {
        const queue = await app.inject({
          method: 'GET',
          url: `/v1/models/${MODEL}/review`,
          headers: bearer(KEYS.admin),
        });
        return queue.json().items.some((i: { inputHash: string }) => i.inputHash === p.inputHash);
      };
      const first = await pending();
      assert.equal(first.pending, 0);
      assert.equal(first.counts.tiesSentToReview, 1);
      assert.deepEqual(await pending(), first, 'asking again gives the same answer');
      assert.equal(await inQueue(), false, 'the preview did not record the tie');
      await pendingThenFreeze();
      assert.equal(await inQueue(), true, 'the freeze did');
    });

    test('a new correction of an input already in a batch makes it pending again, with its whole history', async () => {
      // Input 10 was frozen as "3" (a: 3, b: 3, c: 5). A fourth device says "5": 2 against 2, a tie, nothing to train on.
      const p = await labeled(app, 10, { d: '5' });
      const tied = await pending();
      assert.equal(tied.pending, 0);
      assert.equal(tied.counts.tiesSentToReview, 2, 'this tie and the one still waiting for a reviewer');
      // A fifth says "5" too: 2 against 3.
      await store(app, correction(p, '5', 'e'));
      const { batch } = await pendingThenFreeze();
      assert.deepEqual({ ...batch!.counts.byLabel }, { '5': 1 });
    });

    test('admin keys may ask too; ingest keys may not', async () => {
      assert.equal((await pending('', KEYS.admin)).model, MODEL);
      const r = await app.inject({
        method: 'GET',
        url: `/v1/models/${MODEL}/labels/pending`,
        headers: bearer(KEYS.ingest),
      });
      assert.equal(r.statusCode, 403);
      const bad = await app.inject({
        method: 'GET',
        url: `/v1/models/${MODEL}/labels/pending?maxLabelsPerDevice=0`,
        headers: bearer(KEYS.trainer),
      });
      assert.equal(bad.statusCode, 400);
    });
  });
}
