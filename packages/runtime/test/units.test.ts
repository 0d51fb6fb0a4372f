// The runtime's pure parts, in Node: Retry-After, backoff, confidence scores, the keep policy, event size limits,
// stats windows, and the error catalogue against the README.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { PredictionEvent } from '@edgeloop/protocol';
import {
  backoffMs,
  batchBody,
  parseRetryAfter,
  serialise,
  probabilityProblem,
  score,
  keepReason,
  StatsWindow,
  statsEvent,
  WindowCopies,
  codes,
  RuntimeError,
  newId,
  statsId,
  statsToken,
  RecentPredictions,
  Turns,
  compileIO,
  scoreMultiLabel,
  type Recent,
} from '@edgeloop/runtime/internal';
import type { Manifest } from '@edgeloop/protocol';
import type { Prediction } from '@edgeloop/runtime';

describe('parseRetryAfter', () => {
  test('reads delta seconds and HTTP dates', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter(new Date(now + 30_000).toUTCString(), now), 30_000);
    assert.equal(parseRetryAfter(new Date(now - 30_000).toUTCString(), now), 0);
    assert.equal(parseRetryAfter('soon', now), null);
    assert.equal(parseRetryAfter(null, now), null);
  });
});

describe('backoffMs', () => {
  test('doubles from the base, caps, and jitters by ±50 %', () => {
    assert.equal(
      backoffMs(1, 3000, 1_800_000, () => 0.5),
      3000,
    );
    assert.equal(
      backoffMs(3, 3000, 1_800_000, () => 0.5),
      12_000,
    );
    assert.equal(
      backoffMs(30, 3000, 1_800_000, () => 0.5),
      1_800_000,
    );
    assert.equal(
      backoffMs(1, 3000, 1_800_000, () => 0),
      1500,
    );
    assert.equal(
      backoffMs(1, 3000, 1_800_000, () => 0.999999),
      4500,
    );
  });
});

describe('score', () => {
  test('gives top-1, margin, entropy and the top k', () => {
    const s = score([0.1, 0.7, 0.2], ['a', 'b', 'c'], 2);
    assert.equal(s.label, 'b');
    assert.equal(s.confidence, 0.7);
    assert.ok(Math.abs(s.margin - 0.5) < 1e-9);
    assert.ok(Math.abs(s.entropy - -(0.1 * Math.log(0.1) + 0.7 * Math.log(0.7) + 0.2 * Math.log(0.2))) < 1e-9);
    assert.deepEqual(s.topK, [
      { label: 'b', p: 0.7 },
      { label: 'c', p: 0.2 },
    ]);
  });

  test('probabilityProblem accepts a distribution and names what is wrong otherwise', () => {
    assert.equal(probabilityProblem([0.25, 0.75], 2), null);
    assert.match(probabilityProblem([NaN, 1], 2)!, /NaN/);
    assert.match(probabilityProblem([0.5, 0.6], 2)!, /sum/);
    assert.match(probabilityProblem([1], 2)!, /1 outputs for 2 labels/);
    assert.match(probabilityProblem([2, -1], 2)!, /outside/);
  });
});

describe("compileIO (a version's input and output conventions)", () => {
  const manifest = (
    input: Partial<Manifest['input']>,
    output?: Manifest['output'],
    labels = ['a', 'b', 'c'],
  ): Manifest => ({
    model: 'm',
    version: 'v1',
    channel: 'stable',
    artifacts: [],
    labels,
    policy: { lowConfidence: 0.6, sampleRate: 0 },
    pollAfterSec: 60,
    input: { shape: [2, 2, 3], dtype: 'float32', normalize: { scale: 1, offset: 0 }, ...input },
    ...(output ? { output } : {}),
  });
  // Two by two pixels, three channels, channels last: pixel p, channel c holds 10 p + c.
  const hwc = [0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32];

  test('the default convention passes a float32 input as is and scores probabilities', () => {
    const io = compileIO(manifest({}));
    assert.equal(io.identity, true);
    assert.deepEqual(io.modelShape, [2, 2, 3]);
    assert.equal(io.problem([0.2, 0.3, 0.5], 3), null);
    assert.match(io.problem([2, -1, 5], 3)!, /publish it with meta.output.kind "logits"/);
  });

  test('nchw moves channels first; mean and std apply per channel after scale and offset', () => {
    const io = compileIO(
      manifest({ layout: 'nchw', normalize: { scale: 0.5, offset: 1, mean: [1, 2, 3], std: [1, 2, 4] } }),
    );
    assert.equal(io.identity, false);
    assert.deepEqual(io.modelShape, [3, 2, 2]);
    const x = io.toModel(hwc);
    const expected: number[] = [];
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < 4; p++) expected.push(((10 * p + c) * 0.5 + 1 - [1, 2, 3][c]!) / [1, 2, 4][c]!);
    assert.deepEqual([...x], expected);
  });

  test('one channel needs no transposition, and one mean/std value applies to every channel', () => {
    const single = compileIO(manifest({ shape: [2, 2, 1], layout: 'nchw' }));
    assert.equal(single.identity, true);
    assert.deepEqual(single.modelShape, [1, 2, 2]);
    const io = compileIO(manifest({ normalize: { scale: 1, offset: 0, mean: [10], std: [2] } }));
    assert.deepEqual(
      [...io.toModel(hwc)],
      hwc.map((v) => (v - 10) / 2),
    );
  });

  test('toModel hands out a buffer no run holds: a new one while the last is out, the one given back after', () => {
    const io = compileIO(manifest({ layout: 'nchw', normalize: { scale: 2, offset: 0 } }));
    const a = io.toModel(hwc);
    const b = io.toModel(hwc.map((v) => v + 1));
    assert.notEqual(a, b, 'two overlapping predictions');
    assert.equal(a[1], 20, 'the first is not overwritten by the second');
    io.reuse(a);
    const c = io.toModel(hwc.map((v) => v + 2));
    assert.equal(c, a, 'the buffer given back is reused');
    assert.equal(c[1], 24);
    assert.notEqual(io.toModel(hwc), c, 'and handed out once');
    io.reuse(new Float32Array(5));
    assert.equal(io.toModel(hwc).length, 12, 'a buffer of another size is not used');
  });

  test('statistics that do not fit the channels are refused with EL_RT_BAD_INPUT', () => {
    assert.throws(
      () => compileIO(manifest({ normalize: { scale: 1, offset: 0, mean: [0, 0] } })),
      (err: RuntimeError) => err.code === 'EL_RT_BAD_INPUT' && /mean has 2 values for 3 channels/.test(err.message),
    );
  });

  test('logits are scored as softmax(z / T); a missing kind means probabilities', () => {
    const z = new Float32Array([1, 2, 4]);
    const T = 2;
    const io = compileIO(manifest({}, { kind: 'logits', temperature: T }));
    const p = [...io.probabilities(z)];
    const e = [...z].map((v) => Math.exp(v / T));
    const sum = e.reduce((a, b) => a + b, 0);
    e.forEach((v, i) => assert.ok(Math.abs(p[i]! - v / sum) < 1e-6));
    assert.equal(io.problem([100, -3, 7], 3), null, 'any finite logits pass the probe');
    assert.match(io.problem([NaN, 0, 0], 3)!, /NaN/);
    assert.equal(compileIO(manifest({}, { temperature: 1 })).probabilities(z), z);
  });

  test('sigmoid outputs are independent label probabilities; confidence is the least certain yes/no decision', () => {
    const io = compileIO(manifest({}, { kind: 'sigmoid' }, ['cat', 'dog', 'car']));
    const probs = [...io.probabilities(new Float32Array([3, 0.2, -4]))];
    assert.ok(Math.abs(probs[0]! - 1 / (1 + Math.exp(-3))) < 1e-6);
    const s = io.scoreMulti!(probs, ['cat', 'dog', 'car']);
    assert.equal(s.label, 'cat');
    assert.deepEqual(s.labels, ['cat', 'dog']);
    assert.deepEqual(
      s.topK.map((t) => t.label),
      ['cat', 'dog', 'car'],
    );
    assert.ok(Math.abs(s.confidence - 1 / (1 + Math.exp(-0.2))) < 1e-6, 'dog, near 0.5, sets the confidence');
    assert.ok(Math.abs(s.margin - (2 * s.confidence - 1)) < 1e-12);
    assert.deepEqual(scoreMultiLabel([0.01, 0.02], ['x', 'y']).labels, []);
  });
});

describe('keepReason', () => {
  test('keeps every low-confidence prediction and samples the rest', () => {
    const policy = { lowConfidence: 0.6, sampleRate: 0.1 };
    assert.equal(
      keepReason(0.59, policy, () => 0.99),
      'low_confidence',
    );
    assert.equal(
      keepReason(0.9, policy, () => 0.05),
      'sample',
    );
    assert.equal(
      keepReason(0.9, policy, () => 0.5),
      null,
    );
  });
});

describe('serialise', () => {
  const base: PredictionEvent = {
    id: '0190a4c2-0000-7000-8000-000000000000',
    type: 'prediction',
    model: 'digits',
    version: 'v1',
    deviceId: 'd',
    ts: 1,
    reason: 'sample',
    input: { dtype: 'float32', shape: [28, 28, 1], data: 'A'.repeat(40_000) },
    inputHash: 'a'.repeat(64),
    output: { label: '1', confidence: 0.9, topK: [] },
    engine: 'ort-wasm',
    latencyMs: 1,
  };

  test('an event over the limit is sent without its input, keeping the hash', () => {
    const s = serialise(base, 32_000)!;
    assert.ok(s.bytes < 32_000);
    const back = JSON.parse(s.json) as PredictionEvent;
    assert.equal(back.input, undefined);
    assert.equal(back.inputHash, base.inputHash);
  });

  test('an event that cannot fit is refused', () => {
    assert.equal(serialise({ ...base, input: undefined, engine: 'x'.repeat(40_000) }, 32_000), null);
  });

  test('a batch body is built from stored JSON without re-serialising', () => {
    assert.equal(batchBody(['{"a":1}', '{"b":2}']), '{"events":[{"a":1},{"b":2}]}');
  });
});

describe('StatsWindow', () => {
  test('closes one body per version, with drops on the first', () => {
    const w = new StatsWindow();
    w.prediction('v1', 2, 0.95, '1', false);
    w.prediction('v1', 4, 0.3, '7', true);
    w.prediction('v2', 1, 0.55, '7', true);
    w.correction('v2');
    const [a, b] = w.close(Date.now(), 3);
    assert.deepEqual(
      [a!.version, a!.predictions, a!.lowConfidence, a!.dropped, a!.labelCounts],
      ['v1', 2, 1, 3, { 1: 1, 7: 1 }],
    );
    assert.deepEqual(a!.confidenceHist, [0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    assert.deepEqual([b!.version, b!.corrections, b!.dropped], ['v2', 1, undefined]);
    assert.deepEqual(w.close(), []);
  });
});

describe('stats windows in worker mode', () => {
  const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  test('statsId: a UUIDv7 dated at the window start, the same for the same token, window and version, else different', () => {
    const from = Date.parse('2026-12-01T12:00:00Z');
    const token = statsToken();
    const id = statsId(token, from, 3, 'v2');
    assert.match(id, UUID7);
    assert.equal(parseInt(id.slice(0, 8) + id.slice(9, 13), 16), from);
    assert.equal(statsId(token, from, 3, 'v2'), id);
    const others = new Set([
      id,
      statsId(token, from, 4, 'v2'),
      statsId(token, from, 3, 'v1'),
      statsId(statsToken(), from, 3, 'v2'),
    ]);
    assert.equal(others.size, 4);
    const many = new Set(Array.from({ length: 20_000 }, (_, i) => statsId(token, from, i, 'v1')));
    assert.equal(many.size, 20_000);
  });

  test("the page's copy of a window has the worker's ids; results that cross a close count where the worker counted them", () => {
    const token = statsToken();
    const worker = new StatsWindow(1000);
    const page = new WindowCopies();
    // Window 0: two predictions, each reaching the page with its tag.
    for (const label of ['1', '7']) {
      worker.prediction('v1', 2, 0.9, label, false);
      page.prediction(worker.tag, 'v1', 2, 0.9, label, false);
    }
    // The worker closes window 0 and counts a prediction in window 1; that result reaches the page before the
    // "window 0 closed" message does, and one of window 0 arrives late (after the close message).
    const late = worker.tag;
    worker.prediction('v1', 2, 0.2, '3', true);
    const seq0 = worker.seq;
    const sent0 = worker.close(2000).map((b) => statsEvent(b, seq0, token, 'm', 'd', 2000));
    worker.prediction('v1', 5, 0.8, '4', false);
    page.prediction(worker.tag, 'v1', 5, 0.8, '4', false);
    page.closed(seq0);
    page.prediction(late, 'v1', 2, 0.2, '3', true);
    // Pagehide: the page sends its copy of window 1; the worker, if it lives, sends window 1 too.
    const fromPage = page.close(3000, token, 'm', 'd');
    const seq1 = worker.seq;
    const fromWorker = worker.close(3000).map((b) => statsEvent(b, seq1, token, 'm', 'd', 3000));
    assert.deepEqual(
      sent0.map((e) => [e.predictions, e.lowConfidence]),
      [[3, 1]],
    );
    assert.deepEqual(
      fromPage.map((e) => e.id),
      fromWorker.map((e) => e.id),
      'the same window has the same id',
    );
    assert.notEqual(fromPage[0]!.id, sent0[0]!.id);
    assert.deepEqual(
      fromPage.map((e) => [e.from, e.predictions, e.labelCounts]),
      [[2000, 1, { 4: 1 }]],
    );
    assert.deepEqual(
      fromWorker.map((e) => [e.from, e.predictions]),
      [[2000, 1]],
    );
    assert.deepEqual(page.close(4000, token, 'm', 'd'), [], 'sent once');
  });
});

describe('newId', () => {
  test('makes RFC 9562 UUIDv7 ids with the time they are made at, strictly increasing', () => {
    const t = Date.now();
    const ids = Array.from({ length: 100_000 }, () => newId());
    for (const id of ids.slice(0, 1000))
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, `${ids[i]} after ${ids[i - 1]}`);
    const ms = parseInt(ids[0]!.slice(0, 8) + ids[0]!.slice(9, 13), 16);
    assert.ok(ms >= t && ms <= Date.now(), `timestamp ${ms}`);
    assert.equal(new Set(ids).size, ids.length);
  });
});

describe('RecentPredictions', () => {
  const spec = { shape: [2], dtype: 'float32' as const, normalize: { scale: 1, offset: 0 } };
  const rec = (id: string): Recent => ({
    id,
    result: { id } as Prediction,
    version: 'v1',
    shape: [2],
    ts: 0,
    keep: null,
    spilled: null,
    slot: -1,
  });

  test('remembers the last predictions by id, with a copy of their input', () => {
    const recent = new RecentPredictions(3);
    const input = new Float32Array([1, 2]);
    for (let i = 0; i < 5; i++) {
      input[0] = i;
      recent.add(rec(`p${i}`), input, spec);
    }
    // The app reused its buffer: each remembered input is the copy taken when it was added.
    assert.deepEqual([...recent.input(recent.get('p4')!)], [4, 2]);
    assert.deepEqual([...recent.input(recent.get('p2')!)], [2, 2]);
    assert.equal(recent.get('p1'), undefined, 'forgotten after 3 newer ones');
  });

  test('a kept input outlives its ring slot until it is captured', () => {
    const recent = new RecentPredictions(2);
    const kept = rec('kept');
    recent.add(kept, [7, 8], spec);
    kept.keep = 'low_confidence';
    // More predictions than the ring holds before the capture task runs.
    for (let i = 0; i < 5; i++) recent.add(rec(`p${i}`), [i, i], spec);
    assert.deepEqual([...recent.input(kept)], [7, 8]);
    recent.captured([kept]);
    assert.equal(kept.keep, null);
    assert.equal(kept.spilled, null);
    // A model with another input size: a waiting capture keeps its input too.
    const waiting = rec('waiting');
    recent.add(waiting, [5, 6], spec);
    waiting.keep = 'sample';
    recent.add(rec('wide'), [1, 2, 3], { ...spec, shape: [3] });
    assert.deepEqual([...recent.input(waiting)], [5, 6]);
    assert.equal(recent.get('waiting'), undefined);
  });
});

describe('errors', () => {
  test('every code is documented in the README and formats its message', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const code of Object.keys(codes)) assert.ok(readme.includes(`\`${code}\``), `${code} is not in the README`);
    const err = new RuntimeError('EL_RT_ARTIFACT_SHA', 'model.onnx', 'aa', 'bb');
    assert.equal(err.message, 'Artifact "model.onnx" does not match its sha256 (expected aa, got bb): it was not used');
    assert.equal(RuntimeError.from('EL_RT_NO_MODEL', 'offline').code, 'EL_RT_NO_MODEL');
  });
});

describe("Turns (an engine session's runs)", () => {
  test('runs go one at a time in call order; release waits for the runs under way; later runs reject', async () => {
    const turns = new Turns();
    const order: string[] = [];
    const run = async (name: string, ms: number) => {
      const wait = turns.enter();
      if (wait) await wait;
      try {
        order.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, ms));
        order.push(`end ${name}`);
        return name;
      } finally {
        turns.leave();
      }
    };
    const runs = [run('a', 20), run('b', 1), run('c', 1)];
    const released = turns.close(() => void order.push('release'));
    const late = run('d', 1).then(
      () => 'ran',
      (err: Error) => err.message,
    );
    assert.deepEqual(await Promise.all(runs), ['a', 'b', 'c']);
    await released;
    assert.equal(await late, 'session released');
    assert.deepEqual(order, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c', 'release']);
  });
});
