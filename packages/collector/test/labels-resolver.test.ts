/** LabelResolver on its own: the rules, without a store. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalLabelSet, parseLabelSet } from '@edgeloop/protocol';
import { resolveLabels, type LabelSource } from '@edgeloop/collector/internal';

let n = 0;
const h = (i: number) => i.toString(16).padStart(64, '0');
function vote(input: number, label: string, deviceId: string, extra: Partial<LabelSource> = {}): LabelSource {
  n++;
  return {
    sourceId: `s${String(n).padStart(6, '0')}`,
    kind: 'correction',
    inputHash: h(input),
    label,
    deviceId,
    ts: n,
    receivedAt: n,
    ...extra,
  };
}
const options = { maxLabelsPerDevice: 50, golden: new Set<string>(), seen: new Map<string, number>() };

test('inputs with no source beyond what the last batch saw are not decided again', () => {
  const r = resolveLabels([vote(1, 'a', 'd1'), vote(2, 'b', 'd1')], { ...options, seen: new Map([[h(1), 1]]) });
  assert.deepEqual(
    r.decisions.map((d) => d.inputHash),
    [h(2)],
  );
});

test('earlier votes still count when an input gets a new one, whenever it was committed', () => {
  const late = vote(1, 'b', 'd3', { receivedAt: 0 });
  const r = resolveLabels([vote(1, 'a', 'd1'), vote(1, 'a', 'd2'), late], { ...options, seen: new Map([[h(1), 2]]) });
  assert.equal(r.decisions.length, 1);
  assert.equal(r.decisions[0]!.label, 'a');
  assert.equal(r.decisions[0]!.sources, 3, 'the next batch will have seen all three');
  assert.deepEqual(
    r.decisions[0]!.lineage.map((s) => s.role),
    ['vote', 'vote', 'vote'],
  );
});

test("the cap keeps a device's earliest-arrived votes, whatever clock the device claims", () => {
  const sources = [0, 1, 2].map((i) => vote(i, 'x', 'flood', { ts: 1000 - i }));
  const r = resolveLabels(sources, { ...options, maxLabelsPerDevice: 2 });
  assert.deepEqual(
    r.decisions.map((d) => d.outcome),
    ['voted', 'voted', 'capped'],
  );
  assert.equal(r.cappedByDevice, 1);
});

test('a reviewer label wins and its latest review counts', () => {
  const r = resolveLabels(
    [
      vote(1, 'a', 'd1'),
      vote(1, 'b', null as unknown as string, { kind: 'review', deviceId: null }),
      vote(1, 'c', '', { kind: 'review', deviceId: null }),
    ],
    options,
  );
  assert.deepEqual(
    r.decisions.map(({ outcome, label }) => ({ outcome, label })),
    [{ outcome: 'reviewed', label: 'c' }],
  );
  assert.deepEqual(
    r.decisions[0]!.lineage.map((s) => s.role),
    ['superseded', 'superseded', 'review'],
  );
});

test('golden inputs are counted and left alone', () => {
  const r = resolveLabels([vote(1, 'a', 'd1'), vote(2, 'a', 'd1')], { ...options, golden: new Set([h(1)]) });
  assert.equal(r.excludedGolden, 1);
  assert.deepEqual(
    r.decisions.map((d) => d.inputHash),
    [h(2)],
  );
});

test('the label with the most votes wins without a strict majority (A:2, B:1, C:1 → A)', () => {
  const r = resolveLabels([vote(1, 'A', 'd1'), vote(1, 'B', 'd2'), vote(1, 'A', 'd3'), vote(1, 'C', 'd4')], options);
  assert.deepEqual(
    r.decisions.map(({ outcome, label }) => ({ outcome, label })),
    [{ outcome: 'voted', label: 'A' }],
  );
  assert.equal(r.tiesSentToReview, 0);
});

test('a tie for first place goes to review (A:1, B:1 → review)', () => {
  const r = resolveLabels([vote(1, 'A', 'd1'), vote(1, 'B', 'd2')], options);
  assert.deepEqual(
    r.decisions.map(({ outcome, label }) => ({ outcome, label })),
    [{ outcome: 'tie', label: null }],
  );
  assert.equal(r.tiesSentToReview, 1);
});

test('a tie has no label', () => {
  const r = resolveLabels(
    [vote(1, 'a', 'd1'), vote(1, 'b', 'd2'), vote(1, 'c', 'd3'), vote(1, 'c', 'd4'), vote(1, 'a', 'd5')],
    options,
  );
  assert.deepEqual(
    r.decisions.map(({ outcome, label }) => ({ outcome, label })),
    [{ outcome: 'tie', label: null }],
  );
  assert.equal(r.tiesSentToReview, 1);
});

test('label sets are voted as whole sets, in canonical form: same set in any order agrees, a tie goes to review', () => {
  const set = (...labels: string[]) => canonicalLabelSet(labels);
  const r = resolveLabels(
    [
      vote(1, set('loop', 'even'), 'd1'),
      vote(1, set('even', 'loop'), 'd2'),
      vote(1, set('even'), 'd3'),
      vote(2, set('even'), 'd1'),
      vote(2, set(), 'd2'),
      vote(3, set(), 'd1'),
      vote(3, set('ge5'), 'd2', { kind: 'review', deviceId: null }),
    ],
    options,
  );
  assert.deepEqual(
    r.decisions.map((d) => [d.outcome, d.label === null ? null : parseLabelSet(d.label)]),
    [
      ['voted', ['even', 'loop']],
      ['tie', null],
      ['reviewed', ['ge5']],
    ],
  );
  assert.equal(r.tiesSentToReview, 1);
});
