import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  applyTemperature,
  buildDigitsModel,
  decodeExamples,
  DIGITS_INPUT,
  DRIFTS,
  encodeExamples,
  encodeNpy,
  expectedCalibrationError,
  fitModel,
  fitTemperature,
  formatGate,
  loadLayers,
  loadMnist,
  concat,
  constantSetJaccard,
  fitSigmoidTemperature,
  judgeMultiLabel,
  multiLabelEce,
  scoreLabelSets,
  imageAxes,
  mnistPartOf,
  pick,
  predictLabels,
  predictProbs,
  runGate,
  saveLayers,
  shift,
  shiftInPlace,
  eraseInPlace,
  mulberry32,
  take,
  thicken,
  useBackend,
  type ExampleSet,
} from '../src/index.js';
import { evaluateStable, MARGIN_MIN } from '../src/cycle/gate.js';
import { labelCounts } from '../src/data/examples.js';
import { HOLDOUT, holdoutBounds, SMALL_BATCH } from '../src/cycle/cycle-data.js';
import { splitByContent } from '../src/data/holdout.js';

before(async () => {
  await useBackend('cpu');
});

test('the MNIST split is deterministic, disjoint and covers every digit', () => {
  const parts = ['train', 'golden', 'drift', 'test'] as const;
  const counts = parts.map((p) => loadMnist(p).count);
  assert.equal(
    counts.reduce((a, b) => a + b, 0),
    loadMnist('all').count,
  );
  assert.equal(mnistPartOf(3, 17), mnistPartOf(3, 17));
  const golden = loadMnist('golden');
  assert.deepEqual(new Set(golden.y), new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
  assert.deepEqual(loadMnist('golden', 20).y, golden.y.slice(0, 20));
  assert.ok(
    golden.x.every((v) => v >= 0 && v <= 1),
    'pixels are in [0, 1]',
  );
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
  const decoded = decodeExamples(
    [
      { ...a!, label: 'x' },
      { ...b!, input: { dtype: 'uint8', shape: [2, 2], data: 'AAAAAA==' } },
    ],
    ['0', '1'],
    DIGITS_INPUT,
  );
  assert.equal(decoded.bySplit.train.count, 0);
  assert.deepEqual(
    decoded.skipped.map((s) => /label/.test(s.why) || /values/.test(s.why)),
    [true, true],
  );
});

test('uint8 inputs are normalised with the input spec', () => {
  const decoded = decodeExamples(
    [
      {
        inputHash: 'a'.repeat(64),
        input: { dtype: 'uint8', shape: [2], data: Buffer.from([0, 255]).toString('base64') },
        label: 'b',
        split: 'val',
      },
    ],
    ['a', 'b'],
    { shape: [2], dtype: 'uint8', normalize: { scale: 1 / 255, offset: 0 } },
  );
  assert.deepEqual([...decoded.bySplit.val.x], [0, 1]);
});

test("per-channel mean and std apply on the app's channel axis (the last); an NCHW model gets the channels first", () => {
  // Three pixels of two channels, as the app captures them: (1, 2), (3, 4), (5, 6).
  const raw = Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6]).buffer).toString('base64');
  const example = {
    inputHash: 'a'.repeat(64),
    input: { dtype: 'float32' as const, shape: [3, 2], data: raw },
    label: 'a',
    split: 'val' as const,
  };
  const normalize = { scale: 1, offset: 0, mean: [1, 4], std: [1, 2] };
  const nhwc = decodeExamples([example], ['a'], { shape: [3, 2], dtype: 'float32', normalize });
  assert.deepEqual([...nhwc.bySplit.val.x], [0, -1, 2, 0, 4, 1]);
  assert.deepEqual(nhwc.bySplit.val.shape, [3, 2]);
  const nchw = decodeExamples([example], ['a'], { shape: [3, 2], dtype: 'float32', layout: 'nchw', normalize });
  assert.deepEqual([...nchw.bySplit.val.x], [0, 2, 4, -1, 0, 1]);
  assert.deepEqual(nchw.bySplit.val.shape, [2, 3]);
});

test('encodeNpy writes arrays numpy reads: version 1.0, 64-byte aligned header, little-endian data', () => {
  const npy = encodeNpy(new Float32Array([1.5, -2]), [2, 1]);
  assert.deepEqual([...npy.subarray(0, 8)], [0x93, 78, 85, 77, 80, 89, 1, 0]);
  const headerLength = npy[8]! + npy[9]! * 256;
  assert.equal((10 + headerLength) % 64, 0);
  assert.match(
    new TextDecoder().decode(npy.subarray(10, 10 + headerLength)),
    /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 1\), \} *\n$/,
  );
  assert.deepEqual([...new Float32Array(npy.slice(10 + headerLength).buffer)], [1.5, -2]);
});

test('drift slices thicken strokes and shift digits', () => {
  const set = loadMnist('test', 10);
  const sum = (x: Float32Array) => x.reduce((a, b) => a + b, 0);
  assert.ok(sum(thicken(set).x) > sum(set.x) * 1.3, 'thicker strokes carry more ink');
  const moved = shift(set, 3, 0);
  assert.equal(moved.x[3 + 10 * 28], set.x[10 * 28]);
});

test('every drift of the suite keeps shape and range, changes the images, and is deterministic', () => {
  const set = loadMnist('test', 20);
  assert.deepEqual(Object.keys(DRIFTS), ['thick', 'thin', 'shifted', 'rotated', 'small', 'noisy', 'occluded']);
  for (const [name, drift] of Object.entries(DRIFTS)) {
    const out = drift(set);
    assert.equal(out.x.length, set.x.length, name);
    assert.ok(
      out.x.every((v) => v >= 0 && v <= 1),
      `${name}: values stay in [0, 1]`,
    );
    const changed = out.x.reduce((n, v, i) => n + (Math.abs(v - set.x[i]!) > 0.05 ? 1 : 0), 0);
    assert.ok(changed > set.x.length * 0.02, `${name} changes the images (${changed} pixels)`);
    assert.deepEqual(drift(set).x, out.x, `${name} is deterministic`);
  }
});

test('temperature scaling fitted on held-out outputs lowers the expected calibration error on other held-out data', async () => {
  const model = buildDigitsModel({ seed: 2 });
  await fitModel(model, loadMnist('train', 600), { epochs: 1, learningRate: 3e-3, seed: 2 });
  const [fitOn, measureOn] = [loadMnist('test', 500), loadMnist('golden', 500)];
  // Over-confident outputs, as a model fine-tuned on few examples gives: each row sharpened (p⁴, renormalised).
  const sharpen = (p: Float32Array) => applyTemperature(p, 10, 0.25);
  const [pf, pm] = [sharpen(await predictProbs(model, fitOn)), sharpen(await predictProbs(model, measureOn))];
  const fitted = fitTemperature(pf, fitOn.y, 10);
  assert.ok(fitted.temperature > 1.5, `an over-confident model gets a temperature above 1 (${fitted.temperature})`);
  assert.ok(fitted.nll.after < fitted.nll.before);
  const before = expectedCalibrationError(pm, measureOn.y, 10);
  const after = expectedCalibrationError(applyTemperature(pm, 10, fitted.temperature), measureOn.y, 10);
  assert.ok(after < before * 0.6, `ECE on other held-out data ${before.toFixed(4)} → ${after.toFixed(4)}`);
  assert.equal(fitTemperature(pf, fitOn.y.subarray(0, 0), 10).temperature, 1, 'nothing to fit on: no scaling');
});

test('TF.js Layers artifacts round-trip to the same predictions', async () => {
  const model = buildDigitsModel({ seed: 4 });
  const saved = await saveLayers(model);
  const loaded = await loadLayers(saved);
  const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 9);
  assert.deepEqual(await (loaded.predict(x) as tf.Tensor).data(), await (model.predict(x) as tf.Tensor).data());
  assert.ok(JSON.parse(new TextDecoder().decode(saved.modelJson)).weightsManifest[0].paths.includes('weights.bin'));
});

test('the gate asks for a gain: a model against itself fails only the new-data check; the worse of two fails golden, with advice', async () => {
  const golden = take(loadMnist('golden'), 200);
  const a = buildDigitsModel({ seed: 4 });
  const b = buildDigitsModel({ seed: 9 });
  const data = { golden, fresh: take(loadMnist('test'), 50), replay: take(loadMnist('train'), 100) };
  const same = await runGate(a, a, data);
  assert.equal(same.report.pass, false, 'a candidate that learned nothing is refused');
  assert.deepEqual(
    same.report.metrics.filter((m) => !m.pass).map((m) => m.name),
    ['new.accuracy'],
  );
  assert.match(
    same.report.advice!.join('\n'),
    /beats (stable|the labels' most common class \([\d.]+ % of them\)) by -?\d+\.\d points, needs 5\.0/,
  );
  assert.deepEqual(same.report.metrics.map((m) => m.name).slice(0, 2), ['golden.accuracy', 'golden.recall.0']);
  assert.ok(same.report.metrics.some((m) => m.name === 'replay.accuracy'));
  const noGainAsked = await runGate(a, a, data, { minGain: 0, gainZ: 0 });
  assert.equal(noGainAsked.report.pass, true);
  assert.match(formatGate(noGainAsked.report), /gate: PASS/);
  const noFresh = { ...data, fresh: take(golden, 0) };
  const strict = { goldenTolerance: 0, recallTolerance: 0, minGain: 0 };
  const ab = await runGate(a, b, noFresh, strict);
  const ba = await runGate(b, a, noFresh, strict);
  assert.equal(
    ab.report.metrics.some((m) => m.name === 'new.accuracy'),
    false,
    'no held-out new examples and no gain asked: no gain metric',
  );
  const unmeasured = await runGate(a, a, noFresh, { minGain: 0.05 });
  assert.equal(
    unmeasured.report.metrics.find((m) => m.name === 'new.accuracy')?.pass,
    false,
    'a gain asked for and nothing to measure it on: refused',
  );
  assert.notEqual(ab.candidate.golden.accuracy, ba.candidate.golden.accuracy, 'two different random models');
  const worse = ab.candidate.golden.accuracy < ba.candidate.golden.accuracy ? ab : ba;
  assert.equal(worse.report.pass, false);
  assert.equal(worse.report.metrics.find((m) => m.name === 'golden.accuracy')?.pass, false);
  assert.match(
    formatGate(worse.report),
    /golden\.accuracy .* FAIL[\s\S]*gate: FAIL[\s\S]*to pass: golden accuracy fell/,
  );

  // Held-out earlier corrections: checked when given; a candidate below stable's accuracy there by more than the
  // tolerance lost what an earlier cycle learned (stable's evaluation is given, as a cycle computes it once).
  const withEarlier = { ...noFresh, earlier: take(loadMnist('test'), 60) };
  const itself = await runGate(a, a, withEarlier, strict);
  assert.equal(itself.report.metrics.find((m) => m.name === 'earlier.accuracy')?.pass, true);
  const stableEval = await evaluateStable(a, withEarlier);
  const knewThem = { ...stableEval, earlier: { ...stableEval.earlier!, accuracy: 1 } };
  const lost = await runGate(knewThem, a, withEarlier, strict);
  assert.deepEqual(
    lost.report.metrics.filter((m) => !m.pass).map((m) => m.name),
    ['earlier.accuracy'],
  );
  assert.match(
    lost.report.advice!.join('\n'),
    /held-out earlier corrections: accuracy fell [\d.]+ points \(tolerance 5\.0\) on 60 examples/,
  );

  // The lineage's golden baseline: a candidate equal to stable still fails when stable itself is already near the
  // tolerance below the first version's golden accuracy, so losses cannot add up over cycles.
  const stableGolden = itself.stable.golden.accuracy;
  const withinBaseline = await runGate(a, a, { ...noFresh, goldenBaseline: stableGolden + 0.004 }, { minGain: 0 });
  assert.equal(withinBaseline.report.pass, true, 'within the tolerance of the baseline');
  const belowBaseline = await runGate(a, a, { ...noFresh, goldenBaseline: stableGolden + 0.02 }, { minGain: 0 });
  assert.deepEqual(
    belowBaseline.report.metrics.filter((m) => !m.pass).map((m) => m.name),
    ['golden.accuracy'],
  );
  assert.match(belowBaseline.report.advice!.join('\n'), /2\.0 points below the lineage's golden baseline/);
});

test('shift augmentation moves an image by its offset, fills from the border, and treats channels-first the same', () => {
  // A 3-channel 8×8 image with a distinct value per pixel and channel.
  const [h, w, c] = [8, 8, 3];
  const nhwc = Float32Array.from({ length: h * w * c }, (_, i) => i);
  const set = { x: Float32Array.from(nhwc), y: Int32Array.of(0), count: 1, shape: [h, w, c], labels: ['a'] };
  // rand() = 0.9 for both draws with max 1: offset floor(0.9 · 3) − 1 = +1 down and +1 right.
  shiftInPlace(set, [0], 1, () => 0.9);
  const at = (x: Float32Array, r: number, col: number, ch: number) => x[(r * w + col) * c + ch]!;
  assert.equal(at(set.x, 3, 4, 2), at(nhwc, 2, 3, 2), 'each pixel comes from one up and one left');
  assert.equal(at(set.x, 0, 0, 1), at(nhwc, 0, 0, 1), 'the top-left corner repeats the border');
  assert.equal(at(set.x, 0, 5, 0), at(nhwc, 0, 4, 0), 'the top row repeats the first row, shifted');
  // The same image channels-first, shifted the same, is the transpose of the result.
  const nchw = Float32Array.from(
    { length: h * w * c },
    (_, i) => nhwc[(((i % (h * w)) / w) | 0) * w * c + (i % w) * c + Math.floor(i / (h * w))]!,
  );
  const first = { ...set, x: nchw, shape: [c, h, w] };
  shiftInPlace(first, [0], 1, () => 0.9, 'nchw');
  for (let ch = 0; ch < c; ch++)
    for (let r = 0; r < h; r++)
      for (let col = 0; col < w; col++) assert.equal(first.x[(ch * h + r) * w + col], at(set.x, r, col, ch));
  // Not an image: a flat vector, or too small to shift.
  assert.equal(imageAxes([784]), null);
  assert.equal(imageAxes([4, 4, 1]), null);
  assert.deepEqual(imageAxes([28, 28]), { h: 28, w: 28, c: 1, channelsFirst: false });
  assert.deepEqual(imageAxes([1, 28, 28], 'nchw'), { h: 28, w: 28, c: 1, channelsFirst: true });
});

test("the gain's significance pools held-out earlier corrections with the new ones; its margin too, only when the new ones are too few to show one", async () => {
  const learned = buildDigitsModel({ seed: 5 });
  await fitModel(learned, loadMnist('train', 600), { epochs: 1, learningRate: 3e-3, seed: 2 });
  const golden = take(loadMnist('golden'), 100);
  const test = loadMnist('test');
  // The new held-out example is one the candidate gets right.
  const right = (await predictLabels(learned, take(test, 200))).findIndex((p, i) => p === test.y[i]);
  const earlier = pick(
    test,
    [...Array(60).keys()].map((i) => 200 + i),
  );
  const data = {
    golden,
    fresh: pick(test, [right]),
    replay: take(loadMnist('train'), 50),
    earlier,
    labelCounts: labelCounts(concat(pick(test, [right]), earlier)),
  };
  // Stable as a cycle sees it on corrections: wrong on every one it never trained on (here, all of them).
  const stableEval = await evaluateStable(learned, data);
  const pool = concat(data.fresh, earlier);
  const knewNone = {
    ...stableEval,
    fresh: { ...stableEval.fresh!, accuracy: 0 },
    gainPredicted: stableEval.gainPredicted.map((_, i) => (pool.y[i]! + 2) % 10),
  };
  const loose = { goldenTolerance: 1, recallTolerance: 1, replayTolerance: 1, earlierTolerance: 1 };
  const pooled = await runGate(knewNone, learned, data, loose);
  const gain = pooled.report.metrics.find((m) => m.name === 'new.accuracy')!;
  // One held-out new example: the margin too is counted on all 61 held-out corrections.
  assert.deepEqual([gain.stable, gain.pass], [0, true]);
  assert.ok(gain.candidate > 0.5, `the candidate gets ${gain.candidate} of the pooled corrections right`);
  assert.match(pooled.report.notes!.join('\n'), /on the 1 new and 60 earlier held-out corrections: \d+ won, 0 lost/);
  // Alone, one won correction could be chance.
  const { earlier: _, ...newOnly } = data;
  const alone = await runGate(
    { ...knewNone, gainPredicted: knewNone.gainPredicted.slice(0, 1), earlier: null },
    learned,
    newOnly,
    loose,
  );
  assert.equal(alone.report.metrics.find((m) => m.name === 'new.accuracy')!.pass, false, 'one held-out correction');
  assert.match(alone.report.advice!.join('\n'), /its gain could be chance: on the 1 held-out new examples it won 1/);
  assert.match(
    pooled.report.notes!.join('\n'),
    /1 held-out new examples are too few to show a margin \(fewer than 20\)/,
  );
  // Wins on earlier corrections do not make up for learning nothing from a new batch large enough to show it (labels
  // it cannot match)...
  const many = pick(
    test,
    [...Array(MARGIN_MIN).keys()].map((i) => 300 + i),
  );
  const manyStable = await evaluateStable(learned, { ...data, fresh: many });
  const noise = { ...data, fresh: { ...many, y: Int32Array.from(many.y, (y) => (y + 1) % 10) } };
  const pool20 = concat(noise.fresh, earlier);
  const nothingNew = await runGate(
    {
      ...manyStable,
      fresh: { ...manyStable.fresh!, accuracy: 0 },
      gainPredicted: manyStable.gainPredicted.map((_, i) => (pool20.y[i]! + 2) % 10),
    },
    learned,
    noise,
    loose,
  );
  assert.equal(nothingNew.report.metrics.find((m) => m.name === 'new.accuracy')!.pass, false);
  assert.match(
    nothingNew.report.advice!.join('\n'),
    /held-out new examples \(20\): the candidate beats the labels' most common class \([\d.]+ % of them\) by -?[\d.]+ points, needs 5\.0/,
  );
  // ...while one held-out new example can show nothing either way: the earlier ones decide.
  const one = { ...data, fresh: { ...data.fresh, y: Int32Array.from(data.fresh.y, (y) => (y + 1) % 10) } };
  const tooFew = await runGate(knewNone, learned, one, loose);
  assert.equal(tooFew.report.metrics.find((m) => m.name === 'new.accuracy')!.pass, true);
});

test('random erasing sets one rectangle of 2–25 % of the image to its background, per channel, in either layout', () => {
  const [h, w, c] = [10, 12, 2];
  // Each channel's border alternates 0.1 and 0.3 around the image (so its mean, the background, is 0.2) and every
  // inside pixel has a value of its own: an erased pixel always changes, to exactly 0.2.
  const nhwc = Float32Array.from({ length: h * w * c }, (_, i) => {
    const [r, col, ch] = [Math.floor(i / (w * c)), Math.floor(i / c) % w, i % c];
    const border = r === 0 || col === 0 || r === h - 1 || col === w - 1;
    return border ? ((r + col) % 2 ? 0.1 : 0.3) : 0.4 + i / 1000 + ch / 10;
  });
  const size = h * w * c;
  const copies = (n: number) => {
    const x = new Float32Array(n * size);
    for (let k = 0; k < n; k++) x.set(nhwc, k * size);
    return { x, y: new Int32Array(n), count: n, shape: [h, w, c], labels: ['a'] };
  };
  // Probability 0: nothing changes, and no draw is taken (a shift-only run is unchanged by the option).
  let draws = 0;
  const none = copies(1);
  eraseInPlace(none, [0], 0, () => (draws++, 0.5));
  assert.deepEqual(none.x, nhwc);
  assert.equal(draws, 0);
  // Seeded draws over many rows: about half are erased, each by one full rectangle of background within bounds.
  const many = copies(200);
  eraseInPlace(many, many.y.keys(), 0.5, mulberry32(9));
  let erased = 0;
  for (let n = 0; n < 200; n++) {
    const changed: number[] = [];
    for (let i = 0; i < size; i++) if (many.x[n * size + i] !== nhwc[i]) changed.push(i);
    if (changed.length === 0) continue;
    erased++;
    for (const i of changed) assert.ok(Math.abs(many.x[n * size + i]! - 0.2) < 1e-6, 'erased to the background');
    const pixels = [...new Set(changed.map((i) => Math.floor(i / c)))];
    assert.equal(changed.length, pixels.length * c, 'every channel of an erased pixel');
    const [rows, cols] = [pixels.map((p) => Math.floor(p / w)), pixels.map((p) => p % w)];
    const span = (v: number[]) => Math.max(...v) - Math.min(...v) + 1;
    assert.equal(pixels.length, span(rows) * span(cols), 'one full rectangle');
    assert.ok(pixels.length >= 1 && pixels.length <= 0.25 * h * w * 1.35, `at most about a quarter (${pixels.length})`);
  }
  assert.ok(erased > 70 && erased < 130, `about half the rows erased (${erased} of 200)`);
  // Channels-first: the same draws erase the same rectangle, transposed. Draws: erase (0 < 1), a quarter of the area
  // (1), square (0.5), at the middle (0.5, 0.5): rows 3–7 and columns 4–8.
  const nchw = Float32Array.from({ length: size }, (_, i) => {
    const [ch, r, col] = [Math.floor(i / (h * w)), Math.floor(i / w) % h, i % w];
    return nhwc[(r * w + col) * c + ch]!;
  });
  const [a, b] = [copies(1), { ...copies(1), x: nchw, shape: [c, h, w] }];
  const draw = (values: number[]) => () => values.shift()!;
  eraseInPlace(a, [0], 1, draw([0, 1, 0.5, 0.5, 0.5]));
  eraseInPlace(b, [0], 1, draw([0, 1, 0.5, 0.5, 0.5]), 'nchw');
  for (let ch = 0; ch < c; ch++)
    for (let r = 0; r < h; r++)
      for (let col = 0; col < w; col++) {
        const inside = r >= 3 && r < 8 && col >= 4 && col < 9;
        assert.equal(b.x[(ch * h + r) * w + col], a.x[(r * w + col) * c + ch]);
        assert.equal(a.x[(r * w + col) * c + ch] === nhwc[(r * w + col) * c + ch], !inside, `pixel ${r},${col}`);
      }
});

test('shift augmentation also trains a head over a frozen base: its features are computed again for the moved examples', async () => {
  const set = take(loadMnist('train'), 40);
  const headWeights = async (augment?: { rows: number; shift: number }) => {
    const model = buildDigitsModel({ seed: 4 });
    await fitModel(model, set, { epochs: 2, seed: 3, trainableTail: 1, ...(augment ? { augment } : {}) });
    const w = (await model.layers.at(-1)!.getWeights()[0]!.data()) as Float32Array;
    model.dispose();
    return w;
  };
  const plain = await headWeights();
  assert.deepEqual(await headWeights({ rows: 40, shift: 0 }), plain, 'no shift: the same run');
  assert.notDeepEqual(await headWeights({ rows: 40, shift: 2 }), plain, 'shifted examples train the head differently');
  assert.deepEqual(await headWeights({ rows: 40, shift: 2 }), await headWeights({ rows: 40, shift: 2 }), 'seeded');
});

test('label sets decode multi-hot for a multi-label model, and are skipped by a single-label one', () => {
  const ex = (labels: string[] | undefined, label?: string) => ({
    inputHash: 'a'.repeat(64),
    input: { dtype: 'uint8' as const, shape: [2], data: Buffer.from([0, 255]).toString('base64') },
    ...(labels ? { labels } : { label: label! }),
    split: 'train' as const,
  });
  const spec = { shape: [2], dtype: 'uint8' as const, normalize: { scale: 1 / 255, offset: 0 } };
  const multi = decodeExamples([ex(['c', 'a']), ex([]), ex(undefined, 'b'), ex(['a', 'z'])], ['a', 'b', 'c'], spec, {
    multiLabel: true,
  });
  assert.deepEqual([...multi.bySplit.train.yMulti!], [1, 0, 1, 0, 0, 0, 0, 1, 0], 'one label is the set of it');
  assert.deepEqual(
    multi.skipped.map((s) => s.why),
    ['label "z" is not one of the model\'s labels'],
  );
  assert.deepEqual([...concat(multi.bySplit.train, multi.bySplit.train).yMulti!].length, 18);
  const single = decodeExamples([ex(['a'])], ['a', 'b'], spec);
  assert.equal(single.bySplit.train.count, 0);
  assert.match(single.skipped[0]!.why, /label set .* single-label/);
});

test('multi-label scores: exact match, mean Jaccard, micro-F1, per-label recall; the temperature lowers the BCE of overconfident logits', () => {
  const set = {
    x: new Float32Array(3),
    y: new Int32Array(3),
    yMulti: Float32Array.from([1, 0, 1, 0, 0, 0, 1, 1, 0]),
    count: 3,
    shape: [1],
    labels: ['a', 'b', 'c'],
  };
  // Predicted sets: {a, c} (exact), {b} (true {}: Jaccard 0), {a} (true {a, b}: Jaccard ½).
  const logits = Float32Array.from([3, -2, 1, -1, 2, -3, 4, -1, -2]);
  const e = scoreLabelSets(logits, set);
  assert.equal(e.exactMatch, 1 / 3);
  assert.ok(Math.abs(e.jaccard - 0.5) < 1e-9);
  assert.ok(Math.abs(e.microF1 - (2 * 3) / (2 * 3 + 1 + 1)) < 1e-9);
  assert.deepEqual(e.recall, { a: 1, b: 0, c: 1 });
  assert.equal(
    constantSetJaccard(set),
    4 / 9,
    'the best constant set among those labeled ({a, c}: 1, 0, ⅓; {a, b}: ⅓, 0, 1; {}: 0, 1, 0)',
  );
  const loud = logits.map((z) => z * 10);
  const fitted = fitSigmoidTemperature(loud, set.yMulti);
  assert.ok(fitted.temperature > 1 && fitted.bce.after < fitted.bce.before);
  // One label that applies to 70 % of 100 examples, all said with logit 4 (p 0.98): ECE 0.28 until T brings p to 0.7.
  const said = new Float32Array(100).fill(4);
  const truth = Float32Array.from({ length: 100 }, (_, i) => (i < 70 ? 1 : 0));
  const t = fitSigmoidTemperature(said, truth).temperature;
  assert.ok(Math.abs(multiLabelEce(said, truth, 1) - 0.28) < 0.01);
  assert.ok(multiLabelEce(said, truth, 1, t) < 0.01, `ECE at T ${t}`);
});

test('the multi-label gate pools held-out earlier corrections into the gain as the single-label gate does, and checks they are not lost', () => {
  const labels = ['a', 'b', 'c', 'd'];
  const k = labels.length;
  // Label sets cycle through 6 distinct ones, so no constant set scores well.
  const kinds = [[0], [1, 2], [3], [0, 3], [1], [2, 3]];
  const sets = (n: number, from = 0): ExampleSet => {
    const yMulti = new Float32Array(n * k);
    for (let i = 0; i < n; i++) for (const j of kinds[(from + i) % kinds.length]!) yMulti[i * k + j] = 1;
    return { x: new Float32Array(n), y: new Int32Array(n), yMulti, count: n, shape: [1], labels };
  };
  // Logits saying each example's true set (right) or its complement (Jaccard 0), example by example.
  const say = (set: ExampleSet, right: (i: number) => boolean) =>
    scoreLabelSets(
      Float32Array.from(set.yMulti!, (t, at) => (t > 0.5 === right(Math.floor(at / k)) ? 4 : -4)),
      set,
    );
  const [golden, fresh, earlier] = [sets(12), sets(1, 3), sets(40, 1)];
  const data = { golden, fresh, replay: sets(0), earlier, allNew: fresh };
  const side = (onFresh: boolean, onEarlier: (i: number) => boolean) => ({
    golden: say(golden, () => true),
    fresh: say(fresh, () => onFresh),
    replay: null,
    earlier: say(earlier, onEarlier),
  });
  // Stable never trained on these corrections: wrong on every one.
  const stable = side(false, () => false);
  const learned = side(true, (i) => i >= 4);
  const pooled = judgeMultiLabel(stable, learned, data);
  const gain = pooled.report.metrics.find((m) => m.name === 'new.jaccard')!;
  assert.equal(gain.pass, true, JSON.stringify(pooled.report));
  assert.ok(Math.abs(gain.candidate - 37 / 41) < 1e-6, `pooled mean Jaccard ${gain.candidate}`);
  assert.match(
    pooled.report.notes!.join('\n'),
    /1 held-out new examples are too few to show a margin \(fewer than 20\)/,
  );
  assert.match(pooled.report.notes!.join('\n'), /z \d+\.\d+ on the 1 new and 40 earlier held-out corrections/);
  assert.equal(pooled.report.metrics.find((m) => m.name === 'earlier.jaccard')?.pass, true);
  // Alone, one right example shows nothing: a constant label set gets it right too.
  const { earlier: _, ...newOnly } = data;
  const alone = judgeMultiLabel({ ...stable, earlier: null }, { ...learned, earlier: null }, newOnly);
  assert.equal(alone.report.metrics.find((m) => m.name === 'new.jaccard')!.pass, false);
  assert.match(alone.report.advice!.join('\n'), /held-out new examples \(1\): .*too few held-out examples to tell/);
  assert.equal(
    alone.report.metrics.find((m) => m.name === 'earlier.jaccard'),
    undefined,
  );
  // A candidate that learned the new example but lost 10 of the 40 earlier corrections stable had learned.
  const forgot = judgeMultiLabel(
    side(false, () => true),
    side(true, (i) => i >= 10),
    data,
  );
  const lost = forgot.report.metrics.find((m) => m.name === 'earlier.jaccard')!;
  assert.deepEqual([lost.stable, lost.candidate, lost.pass], [1, 0.75, false]);
  assert.match(
    forgot.report.advice!.join('\n'),
    /earlier corrections: mean Jaccard fell 25\.0 points .* on 40 examples/,
  );
});

test("a small batch holds out a quarter for the gate; a later cycle's split of it as earlier corrections holds out only what was held out", () => {
  const digits = take(loadMnist('train'), 400);
  const small = take(digits, SMALL_BATCH - 1);
  assert.deepEqual(holdoutBounds(small.count), [25, 25 + HOLDOUT.select]);
  assert.deepEqual(holdoutBounds(SMALL_BATCH), [HOLDOUT.gate, HOLDOUT.gate + HOLDOUT.select]);
  const [gate, select, fit] = splitByContent(small, holdoutBounds(small.count));
  assert.ok(gate!.count >= 8 && gate!.count <= 22, `about a quarter of ${small.count} for the gate (${gate!.count})`);
  assert.equal(gate!.count + select!.count + fit!.count, small.count);
  // The same examples, rehearsed by a later cycle as earlier corrections (HOLDOUT's bounds): what it holds out for the
  // gate or to choose was never in the first cycle's training part.
  const key = (set: ExampleSet, i: number) => set.x.subarray(i * 784, (i + 1) * 784).join(',');
  const trained = new Set([...Array(fit!.count).keys()].map((i) => key(fit!, i)));
  const [laterGate, laterSelect] = splitByContent(small, [HOLDOUT.gate, HOLDOUT.gate + HOLDOUT.select]);
  for (const part of [laterGate!, laterSelect!])
    for (let i = 0; i < part.count; i++) assert.ok(!trained.has(key(part, i)), 'held out then, held out now');
  // A large batch keeps the 8 % gate share.
  const [largeGate] = splitByContent(digits, holdoutBounds(digits.count));
  assert.ok(largeGate!.count < digits.count * 0.15, `about 8 % of ${digits.count} (${largeGate!.count})`);
});
