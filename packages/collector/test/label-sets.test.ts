/**
 * Label sets of multi-label models on both stores: corrections with `labels` through ingest (both or neither
 * refused alone), set votes frozen into `labels` examples, golden sets with `labels`, and reviewer label sets.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { newId, type CorrectionEvent } from '@edgeloop/protocol';
import type { App } from '@edgeloop/collector';
import { bearer, KEYS, makeApp, STORE_KINDS } from './helpers/stores.js';
import { correction, examplesOf, freeze, makeInput, prediction, store } from './helpers/labels.js';
import { publish } from './helpers/release.js';

const TAGS = 'tags';
const LABELS = ['even', 'ge5', 'loop'];

/** A correction of `p` with a label set instead of a label. */
function setCorrection(p: ReturnType<typeof prediction>, labels: string[], deviceId: string): CorrectionEvent {
  const { label: _single, ...c } = correction(p, 'x', deviceId);
  return { ...c, labels };
}

for (const kind of STORE_KINDS) {
  describe(`label sets (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    before(async () => ({ app, close } = await makeApp(kind)));
    after(() => close());

    test('ingest takes a correction with labels and rejects one with both or neither, alone', async () => {
      const p = prediction({ seed: 1, model: TAGS });
      const good = setCorrection(p, ['loop', 'even'], 'd1');
      const both = { ...good, id: newId(), label: 'even' };
      const { labels: _l, ...neither } = { ...good, id: newId() };
      const r = await app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: bearer(KEYS.ingest),
        payload: { events: [p, both, good, neither] },
      });
      assert.equal(r.statusCode, 200, r.body);
      const body = r.json();
      assert.equal(body.accepted, 2);
      assert.deepEqual(
        body.rejected.map((x: { index: number; code: string }) => [x.index, x.code]),
        [
          [1, 'EL_INVALID_EVENT'],
          [3, 'EL_INVALID_EVENT'],
        ],
      );
      assert.match(body.rejected[0].message, /not both/);
      assert.match(body.rejected[1].message, /"label" .* or "labels"/);
    });

    test('ingest takes a prediction with its predicted set and rejects a set with a label twice, alone', async () => {
      const p = prediction({ seed: 2, model: TAGS });
      const good = { ...p, output: { ...p.output, labels: ['loop', 'even'] } };
      const twice = { ...p, id: newId(), output: { ...p.output, labels: ['loop', 'loop'] } };
      const none = { ...p, id: newId(), output: { ...p.output, labels: [] } };
      const r = await app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: bearer(KEYS.ingest),
        payload: { events: [twice, good, none] },
      });
      assert.equal(r.statusCode, 200, r.body);
      const body = r.json();
      assert.equal(body.accepted, 2);
      assert.deepEqual(
        body.rejected.map((x: { index: number; code: string }) => [x.index, x.code]),
        [[0, 'EL_INVALID_EVENT']],
      );
      const stored = await app.storage.events.get(good.id);
      assert.deepEqual(stored?.type === 'prediction' && stored.output.labels, ['loop', 'even']);
      assert.equal(await app.storage.events.get(twice.id), undefined);
    });

    test('the same set in any order is one vote: the batch exports it as sorted labels', async () => {
      const p = prediction({ seed: 1, model: TAGS });
      await store(app, p, setCorrection(p, ['even', 'loop'], 'd2'), setCorrection(p, ['ge5'], 'd3'));
      const q = prediction({ seed: 2, model: TAGS });
      await store(app, q, setCorrection(q, [], 'd1'));
      const r = await freeze(app, TAGS);
      assert.equal(r.statusCode, 201, r.body);
      const batch = r.json();
      assert.equal(batch.counts.examples, 2);
      assert.equal(batch.counts.voted, 2);
      assert.equal(batch.counts.tiesSentToReview, 0, '2 votes for one set beat 1 for another');
      assert.deepEqual({ ...batch.counts.byLabel }, { even: 1, loop: 1 }, 'a set counts once per label');
      const { lines } = await examplesOf(app, batch.id);
      const byHash = new Map(lines.map((l) => [l.inputHash, l as unknown as Record<string, unknown>]));
      const one = byHash.get(makeInput(1).inputHash)!;
      assert.deepEqual(one.labels, ['even', 'loop'], 'd1 and d2 voted the same set');
      assert.equal('label' in one, false);
      assert.deepEqual(byHash.get(makeInput(2).inputHash)!.labels, [], 'none of the labels applies');
    });

    test('a golden set takes labels per example, and refuses a set that mixes label and labels', async () => {
      const ex = (seed: number, labels: string[]) => ({ ...makeInput(seed), labels });
      const put = (examples: object[]) =>
        app.inject({
          method: 'PUT',
          url: `/v1/models/${TAGS}/golden`,
          headers: bearer(KEYS.trainer),
          payload: examples,
        });
      const mixed = await put([ex(10, ['even']), { ...makeInput(11), label: 'even' }]);
      assert.equal(mixed.statusCode, 422, mixed.body);
      assert.equal(mixed.json().code, 'EL_INVALID_EXAMPLE');
      const both = await put([{ ...ex(10, ['even']), label: 'even' }]);
      assert.equal(both.json().code, 'EL_INVALID_EXAMPLE');
      const ok = await put([ex(10, ['loop', 'even']), ex(11, [])]);
      assert.equal(ok.statusCode, 201, ok.body);
      const back = await app.inject({
        method: 'GET',
        url: `/v1/models/${TAGS}/golden`,
        headers: bearer(KEYS.trainer),
      });
      const lines = back.body
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { inputHash: string; labels: string[] });
      assert.deepEqual(lines.find((l) => l.inputHash === makeInput(10).inputHash)!.labels, ['even', 'loop']);
    });

    test("a reviewer labels a multi-label model's input with a set of its labels, and a single-label one with a label", async () => {
      assert.equal((await publish(app, TAGS, 'v1', { labels: LABELS, output: { kind: 'sigmoid' } })).statusCode, 201);
      const p = prediction({ seed: 20, model: TAGS, reason: 'low_confidence' });
      await store(app, p);
      const label = (payload: object) =>
        app.inject({ method: 'POST', url: `/v1/events/${p.id}/label`, headers: bearer(KEYS.admin), payload });
      const single = await label({ label: 'even' });
      assert.equal(single.statusCode, 422, single.body);
      assert.equal(single.json().code, 'EL_LABEL_KIND');
      const unknown = await label({ labels: ['even', 'odd'] });
      assert.equal(unknown.json().code, 'EL_UNKNOWN_LABEL');
      assert.equal((await label({ label: 'even', labels: ['even'] })).json().code, 'EL_INVALID_BODY');
      const ok = await label({ labels: ['loop', 'even'] });
      assert.equal(ok.statusCode, 201, ok.body);
      assert.deepEqual(ok.json().labels, ['even', 'loop']);
      const batch = (await freeze(app, TAGS)).json();
      const line = (await examplesOf(app, batch.id)).lines.find((l) => l.inputHash === p.inputHash) as unknown as {
        labels: string[];
      };
      assert.deepEqual(line.labels, ['even', 'loop']);

      assert.equal((await publish(app, 'digits', 'v1')).statusCode, 201);
      const d = prediction({ seed: 21, reason: 'low_confidence' });
      await store(app, d);
      const r = await app.inject({
        method: 'POST',
        url: `/v1/events/${d.id}/label`,
        headers: bearer(KEYS.admin),
        payload: { labels: ['7'] },
      });
      assert.equal(r.json().code, 'EL_LABEL_KIND');
    });
  });
}
