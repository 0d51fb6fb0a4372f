import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  buildDigitsModel, decodeExamples, DIGITS_INPUT, encodeExamples, formatGate, loadLayers, loadMnist, mnistPartOf, runGate, saveLayers, shift, take, thicken, useBackend,
} from '../src/index.js';

before(async () => {
  await useBackend('cpu');
});

test('the MNIST split is deterministic, disjoint and covers every digit', () => {
  const parts = ['train', 'golden', 'drift', 'test'] as const;
  const counts = parts.map((p) => loadMnist(p).count);
  assert.equal(counts.reduce((a, b) => a + b, 0), loadMnist('all').count);
  assert.equal(mnistPartOf(3, 17), mnistPartOf(3, 17));
  const golden = loadMnist('golden');
  assert.deepEqual(new Set(golden.y), new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
  assert.deepEqual(loadMnist('golden', 20).y, golden.y.slice(0, 20));
  assert.ok(golden.x.every((v) => v >= 0 && v <= 1), 'pixels are in [0, 1]');
});

test('wire examples round-trip with their sha256 input hashes', async () => {
  const set = loadMnist('test', 5);
  const wire = await encodeExamples(set, 'golden');
  assert.equal(wire.length, 5);
  assert.match(wire[0]!.inputHash, /^[0-9a-f]{64}$/);
  const back = decodeExamples(wire, set.labels, DIGITS_INPUT).bySplit.golden;
  assert.deepEqual(back.y, set.y);
  assert.deepEqual(back.x, set.x);
});

test('examples with unknown labels or the wrong size are skipped with a reason', async () => {
  const [a, b] = await encodeExamples(loadMnist('test', 2), 'train');
  const decoded = decodeExamples([{ ...a!, label: 'x' }, { ...b!, input: { dtype: 'uint8', shape: [2, 2], data: 'AAAAAA==' } }], ['0', '1'], DIGITS_INPUT);
  assert.equal(decoded.bySplit.train.count, 0);
  assert.deepEqual(decoded.skipped.map((s) => /label/.test(s.why) || /values/.test(s.why)), [true, true]);
});

test('uint8 inputs are normalised with the input spec', () => {
  const decoded = decodeExamples([{ inputHash: 'a'.repeat(64), input: { dtype: 'uint8', shape: [2], data: Buffer.from([0, 255]).toString('base64') }, label: 'b', split: 'val' }], ['a', 'b'], { shape: [2], dtype: 'uint8', normalize: { scale: 1 / 255, offset: 0 } });
  assert.deepEqual([...decoded.bySplit.val.x], [0, 1]);
});

test('drift slices thicken strokes and shift digits', () => {
  const set = loadMnist('test', 10);
  const sum = (x: Float32Array) => x.reduce((a, b) => a + b, 0);
  assert.ok(sum(thicken(set).x) > sum(set.x) * 1.3, 'thicker strokes carry more ink');
  const moved = shift(set, 3, 0);
  assert.equal(moved.x[3 + 10 * 28], set.x[10 * 28]);
});

test('TF.js Layers artifacts round-trip to the same predictions', async () => {
  const model = buildDigitsModel({ seed: 4 });
  const saved = await saveLayers(model);
  const loaded = await loadLayers(saved);
  const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 9);
  assert.deepEqual(await (loaded.predict(x) as tf.Tensor).data(), await (model.predict(x) as tf.Tensor).data());
  assert.ok(JSON.parse(new TextDecoder().decode(saved.modelJson)).weightsManifest[0].paths.includes('weights.bin'));
});

test('the gate passes a model against itself and fails the worse of two, metric by metric', async () => {
  const golden = take(loadMnist('golden'), 200);
  const a = buildDigitsModel({ seed: 4 });
  const b = buildDigitsModel({ seed: 9 });
  const same = await runGate(a, a, golden, take(loadMnist('test'), 50));
  assert.equal(same.report.pass, true);
  assert.deepEqual(same.report.metrics.map((m) => m.name).slice(0, 2), ['golden.accuracy', 'golden.recall.0']);
  assert.ok(same.report.metrics.some((m) => m.name === 'val.accuracy'));
  assert.match(formatGate(same.report), /gate: PASS/);
  const noVal = { ...golden, count: 0, x: new Float32Array(0), y: new Int32Array(0) };
  const strict = { goldenTolerance: 0, recallTolerance: 0 };
  const ab = await runGate(a, b, golden, noVal, strict);
  const ba = await runGate(b, a, golden, noVal, strict);
  assert.equal(ab.report.metrics.some((m) => m.name === 'val.accuracy'), false, 'no validation examples, no validation metric');
  assert.notEqual(ab.candidate.golden.accuracy, ba.candidate.golden.accuracy, 'two different random models');
  const worse = ab.candidate.golden.accuracy < ba.candidate.golden.accuracy ? ab : ba;
  assert.equal(worse.report.pass, false);
  assert.equal(worse.report.metrics.find((m) => m.name === 'golden.accuracy')?.pass, false);
  assert.match(formatGate(worse.report), /golden\.accuracy .* FAIL[\s\S]*gate: FAIL/);
});
