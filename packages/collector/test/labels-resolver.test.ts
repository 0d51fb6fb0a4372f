/** LabelResolver on its own: the rules, without a store. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveLabels, type LabelSource } from '../src/labels/resolver.js';

let n = 0;
const h = (i: number) => i.toString(16).padStart(64, '0');
function vote(input: number, label: string, deviceId: string, extra: Partial<LabelSource> = {}): LabelSource {
  n++;
  return { sourceId: `s${String(n).padStart(6, '0')}`, kind: 'correction', inputHash: h(input), label, deviceId, ts: n, receivedAt: n, consumed: false, ...extra };
}
const options = { maxLabelsPerDevice: 50, golden: new Set<string>() };

test('inputs whose labels were all consumed by earlier batches are not decided again', () => {
  const r = resolveLabels([vote(1, 'a', 'd1', { consumed: true }), vote(2, 'b', 'd1')], options);
  assert.deepEqual(r.decisions.map((d) => d.inputHash), [h(2)]);
});

test('earlier, consumed votes still count when an input gets a new one', () => {
  const r = resolveLabels([vote(1, 'a', 'd1', { consumed: true }), vote(1, 'a', 'd2', { consumed: true }), vote(1, 'b', 'd3')], options);
  assert.deepEqual(r.decisions, [{ inputHash: h(1), outcome: 'voted', label: 'a' }]);
  assert.deepEqual(r.uses.map((u) => u.role), ['vote'], 'only the new vote is consumed');
});

test('the cap keeps a device\'s earliest-arrived votes, whatever clock the device claims', () => {
  const sources = [0, 1, 2].map((i) => vote(i, 'x', 'flood', { ts: 1000 - i }));
  const r = resolveLabels(sources, { ...options, maxLabelsPerDevice: 2 });
  assert.deepEqual(r.decisions.map((d) => d.outcome), ['voted', 'voted', 'capped']);
  assert.equal(r.cappedByDevice, 1);
});

test('a reviewer label wins and its latest review counts', () => {
  const r = resolveLabels(
    [vote(1, 'a', 'd1'), vote(1, 'b', null as unknown as string, { kind: 'review', deviceId: null }), vote(1, 'c', '', { kind: 'review', deviceId: null })],
    options,
  );
  assert.deepEqual(r.decisions, [{ inputHash: h(1), outcome: 'reviewed', label: 'c' }]);
});

test('golden inputs are counted and left alone', () => {
  const r = resolveLabels([vote(1, 'a', 'd1'), vote(2, 'a', 'd1')], { ...options, golden: new Set([h(1)]) });
  assert.equal(r.excludedGolden, 1);
  assert.deepEqual(r.decisions.map((d) => d.inputHash), [h(2)]);
  assert.ok(r.uses.every((u) => u.inputHash === h(2)));
});

test('a tie has no label', () => {
  const r = resolveLabels([vote(1, 'a', 'd1'), vote(1, 'b', 'd2'), vote(1, 'c', 'd3'), vote(1, 'c', 'd4'), vote(1, 'a', 'd5')], options);
  assert.deepEqual(r.decisions, [{ inputHash: h(1), outcome: 'tie', label: null }]);
  assert.equal(r.tiesSentToReview, 1);
});
