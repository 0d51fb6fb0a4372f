import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkEvent, newId, isUuid, uuidv7Time, sha256Hex } from '@edgeloop/protocol';

const prediction = () => ({
  id: newId(),
  model: 'digits',
  version: 'v1',
  deviceId: 'device-1',
  ts: Date.now(),
  type: 'prediction',
  reason: 'low_confidence',
  inputHash: 'a'.repeat(64),
  output: { label: '7', confidence: 0.4, topK: [{ label: '7', p: 0.4 }] },
  engine: 'ort-wasm',
  latencyMs: 1.5,
});

test('checkEvent accepts a well-formed prediction and rejects unknown fields', () => {
  assert.equal(checkEvent(prediction()).ok, true);
  const extra = { ...prediction(), extra: 1 };
  const r = checkEvent(extra);
  assert.equal(r.ok, false);
});

test('checkEvent does not coerce types', () => {
  assert.equal(checkEvent({ ...prediction(), ts: String(Date.now()) }).ok, false);
  assert.equal(checkEvent({ ...prediction(), model: 'Bad Name' }).ok, false);
});

test('newId makes UUIDv7 ids that carry their time', () => {
  const before = Date.now();
  const id = newId();
  assert.ok(isUuid(id));
  const t = uuidv7Time(id)!;
  assert.ok(t >= before && t <= Date.now());
});

test('sha256Hex hashes raw bytes', async () => {
  assert.equal(
    await sha256Hex(new TextEncoder().encode('abc')),
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  );
});
