/** checkEvent's messages describe the schema of the event type the event names. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalLabelSet, checkEvent, newId, parseLabelSet } from '@edgeloop/protocol';

const base = () => ({ id: newId(), model: 'digits', version: 'v1', deviceId: 'device-1', ts: Date.now() });
const valid = {
  prediction: () => ({
    ...base(),
    type: 'prediction',
    reason: 'sample',
    inputHash: 'a'.repeat(64),
    output: { label: '7', confidence: 0.9, topK: [{ label: '7', p: 0.9 }] },
    engine: 'ort-wasm',
    latencyMs: 2,
  }),
  correction: () => ({ ...base(), type: 'correction', predictionId: newId(), label: '7' }),
  stats: () => ({
    ...base(),
    type: 'stats',
    from: 1,
    to: 2,
    predictions: 1,
    lowConfidence: 0,
    corrections: 0,
    errors: 0,
    latencyMs: { p50: 1, p95: 2 },
    confidenceHist: [0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    labelCounts: { '7': 1 },
  }),
  error: () => ({ ...base(), type: 'error', code: 'EL_MODEL_LOAD', message: 'failed' }),
};

const messageOf = (value: unknown) => {
  const r = checkEvent(value);
  assert.equal(r.ok, false, `${JSON.stringify(value)} should be refused`);
  return (r as { message: string }).message;
};

test('checkEvent accepts a well-formed event of every type', () => {
  for (const make of Object.values(valid)) assert.equal(checkEvent(make()).ok, true);
});

test('an event with an extra field is reported against its own type, not the prediction branch', () => {
  for (const [type, make] of Object.entries(valid)) {
    const message = messageOf({ ...make(), extra: 1 });
    assert.doesNotMatch(message, /required propert/, `${type}: ${message}`);
    assert.match(message, /additional propert/, `${type}: ${message}`);
  }
});

test('a missing field names the fields of the event type sent', () => {
  const { message: _m, ...noMessage } = valid.error();
  const m = messageOf(noMessage);
  assert.match(m, /message/);
  assert.doesNotMatch(m, /reason|inputHash/);
  const { label: _l, ...noLabel } = valid.correction();
  assert.match(messageOf(noLabel), /label/);
  assert.doesNotMatch(messageOf(noLabel), /inputHash/);
});

test('a wrong value points at the field within the event type sent', () => {
  assert.match(messageOf({ ...valid.stats(), confidenceHist: [1] }), /^\/confidenceHist /);
  assert.match(messageOf({ ...valid.correction(), predictionId: 'not-a-uuid' }), /^\/predictionId /);
});

test('an unknown or missing type lists the allowed types', () => {
  const allowed = /"prediction", "correction", "stats", "error"/;
  for (const type of ['nope', 7, null, 'constructor', '__proto__']) {
    const m = messageOf({ ...valid.error(), type });
    assert.match(m, /^\/type /, m);
    assert.match(m, allowed, m);
  }
  const { type: _t, ...untyped } = valid.error();
  const m = messageOf(untyped);
  assert.match(m, /type/);
  assert.match(m, allowed);
});

test('a value that is not an object is refused with a message', () => {
  for (const value of [5, 'x', null, [], undefined]) assert.match(messageOf(value), /^\/ must be an? object/);
});

test('checkEvent takes a correction with a label or a label set, and refuses both or neither', () => {
  const correction = valid.correction();
  const { label: _label, ...bare } = correction;
  assert.equal(checkEvent({ ...bare, labels: ['even', 'loop'] }).ok, true);
  assert.equal(checkEvent({ ...bare, labels: [] }).ok, true, 'the empty set: none of the labels applies');
  assert.match(messageOf({ ...correction, labels: ['even'] }), /either "label" .* or "labels" .*not both/);
  assert.match(messageOf(bare), /must have property "label" .* or "labels"/);
  assert.equal(checkEvent({ ...bare, labels: ['even', 'even'] }).ok, false, 'a label twice');
  assert.equal(checkEvent({ ...bare, labels: [''] }).ok, false, 'an empty label');
});

test('canonicalLabelSet sorts and dedupes; parseLabelSet reads back only canonical sets', () => {
  assert.equal(canonicalLabelSet(['loop', 'even', 'loop']), '["even","loop"]');
  assert.equal(canonicalLabelSet([]), '[]');
  assert.deepEqual(parseLabelSet('["even","loop"]'), ['even', 'loop']);
  assert.deepEqual(parseLabelSet('[]'), []);
  assert.equal(parseLabelSet('7'), null);
  assert.equal(parseLabelSet('["loop","even"]'), null, 'not sorted: not canonical');
  assert.equal(parseLabelSet('[1]'), null);
});
