/**
 * The review queue on both stores: what it lists, labeling through the API (the model's labels only), and undo; and
 * the kept predictions no one corrected or reviewed (`GET /v1/models/:model/unreported`), which reads the same
 * corrections and reviews.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '@edgeloop/collector';
import type { Event, PredictionEvent, UnreportedPrediction } from '@edgeloop/protocol';
import { bearer, KEYS, makeApp, STORE_KINDS } from './helpers/stores.js';
import { correction, freeze, labeled, MODEL, prediction, store } from './helpers/labels.js';
import { publish } from './helpers/release.js';

type Item = {
  inputHash: string;
  predictionId: string;
  reason: string;
  input: unknown;
  predicted: { label: string; confidence: number };
  corrections: { comment: string | null }[];
};

for (const kind of STORE_KINDS) {
  describe(`review queue (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    before(async () => ({ app, close } = await makeApp(kind)));
    after(() => close());

    const queue = async (query = ''): Promise<{ total: number; items: Item[] }> => {
      const r = await app.inject({
        method: 'GET',
        url: `/v1/models/${MODEL}/review${query}`,
        headers: bearer(KEYS.admin),
      });
      assert.equal(r.statusCode, 200, r.body);
      return r.json();
    };
    const hashes = async () => (await queue()).items.map((i) => i.inputHash).sort();

    const low = prediction({ seed: 1, reason: 'low_confidence', label: '4', confidence: 0.31 });
    const lowAgain = {
      ...prediction({ seed: 1, reason: 'low_confidence', label: '4', confidence: 0.35 }),
      deviceId: 'other',
    };
    const sample = prediction({ seed: 2, reason: 'sample', confidence: 0.2 });
    const reported = prediction({ seed: 3, reason: 'reported', confidence: 0.3 });
    const lowNoInput = prediction({ seed: 4, reason: 'low_confidence', withInput: false });
    const lowReviewed = prediction({ seed: 5, reason: 'low_confidence' });
    const lowCorrected = prediction({ seed: 6, reason: 'low_confidence' });
    const otherModel = prediction({ seed: 7, reason: 'low_confidence', model: 'other-model' });

    test('lists only low-confidence predictions without a trusted label, one item per input', async () => {
      await store(app, low, lowAgain, sample, reported, lowNoInput, lowReviewed, lowCorrected, otherModel);
      await store(app, correction(lowCorrected, '2', 'a', 'it is a <b>2</b>'));
      const r = await app.inject({
        method: 'POST',
        url: `/v1/events/${lowReviewed.id}/label`,
        headers: bearer(KEYS.admin),
        payload: { label: '5' },
      });
      assert.equal(r.statusCode, 201);
      assert.deepEqual(await hashes(), [low.inputHash, lowNoInput.inputHash, lowCorrected.inputHash].sort());
      const { items, total } = await queue();
      assert.equal(total, 3);
      const item = items.find((i) => i.inputHash === low.inputHash)!;
      assert.equal(item.reason, 'low_confidence');
      assert.equal(item.predictionId, lowAgain.id, 'the latest prediction of the input');
      assert.deepEqual(item.predicted, { label: '4', confidence: 0.35 });
      assert.deepEqual(item.input, low.input);
      assert.equal(items.find((i) => i.inputHash === lowNoInput.inputHash)!.input, null);
      assert.equal(
        items.find((i) => i.inputHash === lowCorrected.inputHash)!.corrections[0]!.comment,
        'it is a <b>2</b>',
      );
    });

    test('an input resolved into a batch leaves the queue', async () => {
      const batch = await freeze(app);
      assert.equal(batch.statusCode, 201, batch.body);
      assert.deepEqual(await hashes(), [low.inputHash, lowNoInput.inputHash].sort());
    });

    test('labeling via the API removes the input from the queue', async () => {
      const before = await queue();
      const item = before.items.find((i) => i.inputHash === low.inputHash)!;
      const r = await app.inject({
        method: 'POST',
        url: `/v1/events/${item.predictionId}/label`,
        headers: bearer(KEYS.admin),
        payload: { label: '9', comment: 'looks like a 9' },
      });
      assert.equal(r.statusCode, 201);
      assert.deepEqual(await hashes(), [lowNoInput.inputHash]);
      const batch = (await freeze(app)).json();
      assert.equal(batch.counts.reviewed, 1);
      assert.deepEqual({ ...batch.counts.byLabel }, { '9': 1 });
    });

    test('a label must be a short string and nothing else', async () => {
      for (const payload of [{ label: '' }, { label: 'x'.repeat(65) }, { label: 3 }, { label: '1', extra: true }, {}]) {
        const r = await app.inject({
          method: 'POST',
          url: `/v1/events/${lowNoInput.id}/label`,
          headers: bearer(KEYS.admin),
          payload,
        });
        assert.equal(r.statusCode, 400, JSON.stringify(payload));
        assert.equal(r.json().code, 'EL_INVALID_BODY');
      }
    });

    test('pages through the queue', async () => {
      for (let seed = 100; seed < 110; seed++) await store(app, prediction({ seed, reason: 'low_confidence' }));
      const all = await queue('?limit=500');
      const first = await queue('?limit=4');
      const second = await queue('?limit=4&offset=4');
      assert.equal(first.total, all.total);
      assert.deepEqual(
        [...first.items, ...second.items].map((i) => i.inputHash),
        all.items.slice(0, 8).map((i) => i.inputHash),
      );
    });

    test('a tie from a batch is listed first until someone labels it', async () => {
      await labeled(app, 200, { a: '1', b: '2' }, { reason: 'sample' });
      await labeled(app, 201, { a: '1' });
      assert.equal((await freeze(app)).statusCode, 201);
      const { items } = await queue();
      assert.equal(items[0]!.reason, 'tie');
      assert.equal(items.filter((i) => i.reason === 'tie').length, 1);
    });

    describe('kept predictions no one reported', () => {
      // A model of its own on the same app: nothing above touches it.
      const KEPT = 'kept';
      const old = Date.now() - 3_600_000;
      const kept = (o: Parameters<typeof prediction>[0], version = 'v1'): PredictionEvent => ({
        ...prediction({ model: KEPT, ...o }),
        version,
      });
      const at = (receivedAt: number, ...events: Event[]) => app.storage.events.insert(events, receivedAt);
      const unreported = (query: string, key: string = KEYS.trainer) =>
        app.inject({ method: 'GET', url: `/v1/models/${KEPT}/unreported${query}`, headers: bearer(key) });
      const listed = async (query: string) => {
        const r = await unreported(query);
        assert.equal(r.statusCode, 200, r.body);
        return (r.json() as { items: UnreportedPrediction[] }).items;
      };

      const low = kept({ seed: 500, reason: 'low_confidence', label: '3', confidence: 0.42 });
      const sample = kept({ seed: 501, reason: 'sample', label: '8', confidence: 0.97 });
      const corrected = kept({ seed: 502, reason: 'low_confidence' });
      const viaOther = kept({ seed: 503, reason: 'sample' });
      const otherOfIt = { ...kept({ seed: 503, reason: 'reported' }, 'v0'), deviceId: 'device-q' };
      const reviewed = kept({ seed: 504, reason: 'low_confidence' });
      const otherVersion = kept({ seed: 505, reason: 'low_confidence' }, 'v2');
      // A multi-label model's prediction carries its predicted set.
      const ofSet = kept({ seed: 512, reason: 'low_confidence' }, 'v3');
      const multi: PredictionEvent = { ...ofSet, output: { ...ofSet.output, labels: ['8', '3'] } };
      const noInput = kept({ seed: 506, reason: 'low_confidence', withInput: false });
      const reported = kept({ seed: 507, reason: 'reported' });
      const fresh = kept({ seed: 508, reason: 'low_confidence' });
      const dupOlder = kept({ seed: 509, reason: 'low_confidence' });
      const dupNewer = { ...kept({ seed: 509, reason: 'sample' }), deviceId: 'device-r' };
      const withInput = kept({ seed: 510, reason: 'low_confidence' });
      const newerNoInput = kept({ seed: 510, reason: 'sample', withInput: false });
      // Another model's prediction of `sample`'s input, corrected: it says nothing about this model's.
      const otherModel = prediction({ seed: 501, reason: 'low_confidence', model: 'other-kept' });
      // More predictions of one corrected input than a step of the scan reads, all received in the same millisecond.
      const many = Array.from({ length: 120 }, (_, i) => ({
        ...kept({ seed: 511, reason: 'low_confidence' }),
        deviceId: `device-${i}`,
      }));

      before(async () => {
        await at(old + 1, low);
        await at(old + 2, sample, otherModel);
        await at(old + 3, corrected, viaOther, reviewed, otherVersion, noInput, reported, multi);
        await at(old + 4, otherOfIt);
        await at(old + 60_000, dupOlder);
        await at(old + 60_001, dupNewer);
        await at(old + 60_002, withInput);
        await at(old + 60_003, newerNoInput);
        await at(old + 120_000, ...many);
        await at(
          old + 130_000,
          correction(corrected, '1', 'device-a'),
          correction(otherOfIt, '1', 'device-b'),
          correction(otherModel, '1', 'device-c'),
          correction(many[7]!, '1', 'device-d'),
        );
        await at(Date.now(), fresh);
        const r = await app.inject({
          method: 'POST',
          url: `/v1/events/${reviewed.id}/label`,
          headers: bearer(KEYS.admin),
          payload: { label: '5' },
        });
        assert.equal(r.statusCode, 201, r.body);
      });

      test('lists the settled low-confidence and sampled predictions of the version that no one corrected or reviewed', async () => {
        const items = await listed('?version=v1');
        assert.deepEqual(
          items.map((i) => i.predictionId),
          [withInput.id, dupNewer.id, sample.id, low.id],
          'one per input (its newest prediction with an input), newest first; not the fresh one',
        );
        assert.deepEqual(items[3], {
          predictionId: low.id,
          inputHash: low.inputHash,
          input: low.input,
          label: '3',
          confidence: 0.42,
          reason: 'low_confidence',
          ts: low.ts,
          receivedAt: old + 1,
        });
        assert.equal(items[2]!.reason, 'sample');
        assert.deepEqual(
          (await listed('?version=v2')).map((i) => i.predictionId),
          [otherVersion.id],
          "each version's own",
        );
        assert.deepEqual(await listed('?version=v9'), []);
        assert.equal(items[3]!.labels, undefined, 'a single-label prediction has no label set');
        const [ofMulti] = await listed('?version=v3');
        assert.deepEqual(
          [ofMulti!.predictionId, ofMulti!.labels],
          [multi.id, ['8', '3']],
          "a multi-label prediction's set, as the device sent it",
        );
      });

      test('settledMs decides how old a prediction must be, and limit how many come back', async () => {
        assert.deepEqual(
          (await listed('?version=v1&settledMs=0')).map((i) => i.predictionId),
          [fresh.id, withInput.id, dupNewer.id, sample.id, low.id],
        );
        assert.deepEqual(
          (await listed('?version=v1&settledMs=0&limit=2')).map((i) => i.predictionId),
          [fresh.id, withInput.id],
        );
        // The first step of the scan holds only the corrected input's predictions: the scan goes on past them.
        assert.deepEqual(
          (await listed('?version=v1&limit=1')).map((i) => i.predictionId),
          [withInput.id],
        );
        assert.deepEqual(
          (await listed(`?version=v1&settledMs=${Date.now() - old - 10}`)).map((i) => i.predictionId),
          [sample.id, low.id],
        );
        assert.deepEqual(await listed('?version=v1&settledMs=31536000000'), []);
      });

      test('a bad query is refused with 400, and only trainer and admin keys may ask', async () => {
        for (const query of [
          '',
          '?limit=10',
          '?version=',
          '?version=v1&limit=0',
          '?version=v1&limit=5001',
          '?version=v1&limit=1.5',
          '?version=v1&settledMs=-1',
          '?version=v1&settledMs=31536000001',
          '?version=v1&settledMs=soon',
          '?version=v1&other=1',
          '?version=a%20b',
        ]) {
          const r = await unreported(query);
          assert.equal(r.statusCode, 400, `${query}: ${r.body}`);
          assert.equal(r.json().code, 'EL_INVALID_BODY', query);
        }
        assert.equal((await unreported('?version=v1', KEYS.admin)).statusCode, 200);
        const ingest = await unreported('?version=v1', KEYS.ingest);
        assert.equal(ingest.statusCode, 403, ingest.body);
        const none = await app.inject({ method: 'GET', url: `/v1/models/${KEPT}/unreported?version=v1` });
        assert.equal(none.statusCode, 401);
      });
    });
  });
}

for (const kind of STORE_KINDS) {
  describe(`reviewer labels are the model's, and can be undone (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    before(async () => ({ app, close } = await makeApp(kind)));
    after(() => close());

    const SHAPES = 'shapes';
    const label = (id: string, payload: object) =>
      app.inject({ method: 'POST', url: `/v1/events/${id}/label`, headers: bearer(KEYS.admin), payload });
    const undo = (id: string, key: string = KEYS.admin) =>
      app.inject({ method: 'DELETE', url: `/v1/reviews/${id}`, headers: bearer(key) });
    const queue = async (model = SHAPES) => {
      const r = await app.inject({ method: 'GET', url: `/v1/models/${model}/review`, headers: bearer(KEYS.admin) });
      assert.equal(r.statusCode, 200, r.body);
      return r.json() as { total: number; items: Item[]; labels: string[] | null };
    };
    const queued = async () => (await queue()).items.map((i) => i.inputHash).sort();

    test('a model with no version yet has no label set: the queue says null and a label is taken as sent', async () => {
      const p = prediction({ seed: 300, reason: 'low_confidence', model: 'unpublished' });
      await store(app, p);
      assert.equal((await queue('unpublished')).labels, null);
      const r = await label(p.id, { label: 'anything at all' });
      assert.equal(r.statusCode, 201, r.body);
    });

    test("a label that is not one of the stable version's labels is refused and nothing is stored", async () => {
      assert.equal((await publish(app, SHAPES, 'v1', { labels: ['circle', 'square'] })).statusCode, 201);
      assert.equal((await publish(app, SHAPES, 'v2', { labels: ['circle', 'square', 'triangle'] })).statusCode, 201);
      const a = prediction({ seed: 301, reason: 'low_confidence', model: SHAPES });
      await store(app, a);
      assert.deepEqual((await queue()).labels, ['circle', 'square'], 'v1 is stable, v2 is only the latest');
      for (const bad of ['triangle', 'Circle', 'circle ', '7']) {
        const r = await label(a.id, { label: bad });
        assert.equal(r.statusCode, 422, `${bad}: ${r.body}`);
        assert.equal(r.json().code, 'EL_UNKNOWN_LABEL');
        assert.match(r.json().message, /"circle", "square"/);
      }
      assert.deepEqual(await queued(), [a.inputHash], 'still waiting for a person');
      const empty = await freeze(app, SHAPES);
      assert.equal(empty.statusCode, 409, 'no review was stored');
      assert.equal(empty.json().code, 'EL_EMPTY_BATCH');
      assert.equal((await label(a.id, { label: 'square' })).statusCode, 201);
      assert.deepEqual(await queued(), []);
    });

    test('once v2 is stable its labels are the ones a reviewer may give', async () => {
      const r = await app.inject({
        method: 'PUT',
        url: `/v1/models/${SHAPES}/rollout`,
        headers: bearer(KEYS.trainer),
        payload: { stable: 'v2', canary: null, canaryPercent: 0 },
      });
      assert.equal(r.statusCode, 200, r.body);
      const b = prediction({ seed: 302, reason: 'low_confidence', model: SHAPES });
      await store(app, b);
      assert.deepEqual((await queue()).labels, ['circle', 'square', 'triangle']);
      assert.equal((await label(b.id, { label: 'triangle' })).statusCode, 201);
    });

    test('undo removes the review: the input is back in the queue and no batch uses the label', async () => {
      // Consume what the earlier tests labeled, so that the freeze below can only see this input.
      assert.equal((await freeze(app, SHAPES)).statusCode, 201);
      const c = prediction({ seed: 303, reason: 'low_confidence', model: SHAPES });
      await store(app, c);
      const labeled = await label(c.id, { label: 'circle', comment: 'round' });
      assert.equal(labeled.statusCode, 201);
      assert.deepEqual(await queued(), []);
      const review = labeled.json() as { id: string };
      assert.equal((await undo(review.id, KEYS.trainer)).statusCode, 403, 'an admin route');
      const r = await undo(review.id);
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json(), labeled.json(), 'answers the removed review');
      assert.deepEqual(await queued(), [c.inputHash], 'back in the queue');
      const empty = await freeze(app, SHAPES);
      assert.equal(empty.statusCode, 409, 'nothing labeled any more');
      const again = await undo(review.id);
      assert.equal(again.statusCode, 404);
      assert.equal(again.json().code, 'EL_NOT_FOUND');
      // Labeling it again after the undo counts as usual.
      assert.equal((await label(c.id, { label: 'square' })).statusCode, 201);
      const batch = await freeze(app, SHAPES);
      assert.equal(batch.statusCode, 201, batch.body);
      assert.deepEqual({ ...batch.json().counts.byLabel }, { square: 1 });
    });

    test('a review a batch has taken cannot be undone', async () => {
      const d = prediction({ seed: 304, reason: 'low_confidence', model: SHAPES });
      await store(app, d);
      const review = (await label(d.id, { label: 'triangle' })).json() as { id: string };
      assert.equal((await freeze(app, SHAPES)).statusCode, 201);
      const r = await undo(review.id);
      assert.equal(r.statusCode, 409, r.body);
      assert.equal(r.json().code, 'EL_REVIEW_IN_BATCH');
      assert.deepEqual(await queued(), [], 'the label stands');
      // A later correction of the input is still seen as new: nothing was removed.
      await store(app, correction(d, 'circle', 'device-x'));
      const pending = await app.inject({
        method: 'GET',
        url: `/v1/models/${SHAPES}/labels/pending`,
        headers: bearer(KEYS.trainer),
      });
      assert.equal(pending.json().pending, 1, pending.body);
    });
  });
}
