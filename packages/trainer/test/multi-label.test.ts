/**
 * Bring your own multi-label model: an MLP trained by real PyTorch with binary cross-entropy (input "pixels" NCHW,
 * one logit per tag in "tags") is registered through the CLI with `--output sigmoid`, a golden set and base data of
 * tag sets; users report the right tag SET of rotated digits through POST /v1/events; one `train` cycle learns them
 * (binary cross-entropy, the multi-label gate, one sigmoid temperature) and publishes a canary that keeps the output
 * kind and the ONNX names; after its promotion a second cycle rehearses the first one's tag sets beside the new ones
 * and the predicted sets of kept predictions no one reported, and learns more of the drift. A cycle on shuffled tag sets is refused by the gain check, and the external-trainer path
 * pulls multi-hot labels and gates an ONNX candidate with the same gate.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { promoteCanary, type GateReport } from '@edgeloop/protocol';
import {
  CollectorClient,
  DRIFTS,
  encodeExamples,
  evaluateVersion,
  loadMnist,
  mulberry32,
  publishCandidate,
  pullWork,
  registerOnnxModel,
  retrain,
  scoreLabelSets,
  take,
  useBackend,
  type ExampleSet,
} from '../src/index.js';
import { runCli } from './helpers/cli.js';
import { KEYS, startCollector, type TestCollector } from './helpers/collector.js';
import { digitTags, reportWrongSets, setOf, slice, TAGS } from './helpers/multi-label.js';
import { asNchw, makeMultiLabelTorchModel, type TorchModels } from './helpers/torch.js';

const MODEL = 'torch-tags';
const SHUFFLED = 'torch-tags-shuffled';
let collector: TestCollector;
let client: CollectorClient;
let torch: TorchModels;
let dir: string;
const env = () => ({ EDGELOOP_COLLECTOR: collector.url, EDGELOOP_TOKEN: KEYS.trainer });
const train = digitTags(asNchw(take(loadMnist('train'), 2000)));
const golden = digitTags(asNchw(take(loadMnist('golden'), 600)));
const rotated = digitTags(asNchw(DRIFTS.rotated!(take(loadMnist('drift'), 1400))));

before(async () => {
  await useBackend('cpu');
  collector = await startCollector();
  client = new CollectorClient({ url: collector.url, token: KEYS.trainer });
  dir = mkdtempSync(join(tmpdir(), 'edgeloop-multilabel-'));
  torch = makeMultiLabelTorchModel(train);
});

after(async () => {
  await collector?.close();
  if (torch) rmSync(torch.dir, { recursive: true, force: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Mean Jaccard and exact match of a version's ONNX artifact (run by onnxruntime-web) on `set`. */
async function scoreVersion(model: string, version: string, set: ExampleSet) {
  const v = await client.version(model, version);
  ort.env.wasm.numThreads = 1;
  const s = await ort.InferenceSession.create(
    await client.artifact(v.artifacts.find((a) => a.format === 'onnx')!.sha256),
    {
      executionProviders: ['wasm'],
    },
  );
  const out = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', set.x, [set.count, 1, 28, 28]) });
  const names = { input: s.inputNames, output: s.outputNames };
  await s.release();
  return { ...scoreLabelSets(out[names.output[0]!]!.data as Float32Array, set), names };
}

test('register --onnx --output sigmoid publishes a multi-label PyTorch model with a golden set of tag sets', async () => {
  const goldenFile = join(dir, 'golden.ndjson');
  writeFileSync(goldenFile, (await encodeExamples(golden, 'golden')).map((e) => JSON.stringify(e)).join('\n'));
  const r = await runCli(
    [
      'register',
      '--model',
      MODEL,
      '--onnx',
      torch.path('multilabel-mlp'),
      '--labels',
      TAGS.join(','),
      '--output',
      'sigmoid',
      '--golden',
      goldenFile,
      '--trainable-tail',
      '2',
      '--backend',
      'cpu',
      '--json',
    ],
    env(),
  );
  assert.equal(r.code, 0, r.stderr);
  const result = r.json.at(-1) as { version: string; output: string; names: object; metrics: Record<string, number> };
  assert.deepEqual(
    { version: result.version, output: result.output, names: result.names },
    { version: 'v1', output: 'sigmoid', names: { input: 'pixels', output: 'tags' } },
  );
  assert.ok(result.metrics['golden.microF1']! > 0.8, `golden micro-F1 ${result.metrics['golden.microF1']}`);
  const back = await client.golden(MODEL);
  assert.equal(back?.length, golden.count);
  assert.deepEqual(back![0]!.labels !== undefined && back![0]!.label === undefined, true, 'stored as label sets');
  const base = await client.putBaseData(MODEL, await encodeExamples(train, 'train'));
  assert.equal(base.counts.examples, train.count);
  // A graph that applies the sigmoid itself would have it applied twice by the runtime.
  await assert.rejects(
    registerOnnxModel(client, {
      model: 'torch-tags-probabilities',
      onnx: torch.bytes('multilabel-mlp-sigmoid'),
      labels: [...TAGS],
      input: { dtype: 'float32', normalize: { scale: 1, offset: 0 } },
    }),
    (e: Error & { code?: string }) => e.code === 'ELT_BAD_MODEL' && /ends in a Sigmoid/.test(e.message),
  );
});

test('users report the right tag sets of rotated digits: one cycle learns them and v2 keeps kind sigmoid and the ONNX names', async (t) => {
  const { reported } = await reportWrongSets(collector.url, client, MODEL, slice(rotated, 0, 600));
  assert.ok(reported > 100, `v1 got ${reported} of 600 rotated tag sets wrong`);
  const started = performance.now();
  // Two candidates, one learning rate and at most 10 epochs keep the test short (the default searches 8).
  const r = await runCli(
    [
      'train',
      '--model',
      MODEL,
      '--backend',
      'cpu',
      '--seed',
      '3',
      '--learning-rate',
      '0.003',
      '--epochs',
      '10',
      '--candidates',
      '2',
      '--json',
    ],
    env(),
  );
  t.diagnostic(`retrain → gate → export → publish: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const result = r.json.at(-1) as {
    status: string;
    version: string;
    gate: GateReport;
    metrics: Record<string, number>;
  };
  assert.equal(result.status, 'published', JSON.stringify(result.gate));
  const names = result.gate.metrics.map((m) => m.name);
  for (const name of ['golden.microF1', 'golden.recall.loop', 'new.jaccard', 'replay.microF1'])
    assert.ok(names.includes(name), `the gate checks ${name}: ${names.join(', ')}`);
  assert.ok(result.gate.calibration!.temperature > 0);
  assert.ok(result.metrics['parity.maxAbsDiff']! <= 1e-4, 'ONNX parity with onnxruntime-web');

  const v2 = await client.version(MODEL, 'v2');
  assert.equal(v2.meta.output?.kind, 'sigmoid', 'the output kind is kept');
  assert.equal(v2.meta.output?.temperature, result.gate.calibration!.temperature);
  assert.equal((await client.rollout(MODEL))?.canary, 'v2');
  const heldOut = slice(rotated, 1000, 1400);
  const [before, afterRetrain] = [await scoreVersion(MODEL, 'v1', heldOut), await scoreVersion(MODEL, 'v2', heldOut)];
  assert.deepEqual(afterRetrain.names, { input: ['pixels'], output: ['tags'] }, 'the original ONNX names');
  t.diagnostic(
    `held-out rotated digits: exact match ${(before.exactMatch * 100).toFixed(1)} % → ${(afterRetrain.exactMatch * 100).toFixed(1)} %, mean Jaccard ${(before.jaccard * 100).toFixed(1)} % → ${(afterRetrain.jaccard * 100).toFixed(1)} %`,
  );
  assert.ok(
    afterRetrain.exactMatch > before.exactMatch + 0.03,
    `exact match ${before.exactMatch} → ${afterRetrain.exactMatch}`,
  );
  assert.ok(afterRetrain.jaccard > before.jaccard, `mean Jaccard ${before.jaccard} → ${afterRetrain.jaccard}`);
  const onGolden = await evaluateVersion(client, MODEL, 'v2');
  assert.equal(onGolden.count, golden.count);
  assert.ok(onGolden.multiLabel!.microF1 > 0.8, `v2's golden micro-F1 ${onGolden.multiLabel!.microF1}`);
  // Data whose labels come in another order (a file lists them sorted) is read in the model's order.
  const k = TAGS.length;
  const reversed = {
    ...golden,
    labels: [...TAGS].reverse(),
    yMulti: golden.yMulti!.map((_, i) => golden.yMulti![i - (i % k) + (k - 1 - (i % k))]!),
  };
  const again = await evaluateVersion(client, MODEL, 'v2', { name: 'reversed', set: reversed });
  assert.deepEqual(again.multiLabel, onGolden.multiLabel);
});

test("a second cycle rehearses the first one's tag sets beside the new ones, and its gate checks they are kept", async (t) => {
  const admin = new CollectorClient({ url: collector.url, token: KEYS.admin });
  await admin.call(promoteCanary, { params: { model: MODEL }, body: { reason: 'test: the canary held up' } });
  assert.equal((await client.rollout(MODEL))?.stable, 'v2');
  // The devices also upload the right predictions v2's policy keeps, with their predicted sets.
  const { reported, kept } = await reportWrongSets(collector.url, client, MODEL, slice(rotated, 600, 1000), undefined, {
    keep: true,
  });
  assert.ok(reported > 20, `v2 got ${reported} of 400 rotated tag sets wrong`);
  assert.ok(kept > 5, `v2's policy kept ${kept} right predictions`);
  const r = await retrain(client, {
    model: MODEL,
    seed: 3,
    backend: 'cpu',
    canary: false,
    accepted: { settledMs: 0 },
    learningRate: 3e-3,
    epochs: 10,
    maxCandidates: 2,
  });
  assert.ok(r.status !== 'nothing-new');
  // The first cycle's batch is trained on again (its held-out part is not) and gated on.
  assert.ok(r.metrics['earlier.examples']! > 100, `rehearsed ${r.metrics['earlier.examples']} earlier examples`);
  // Every kept prediction no one reported is learned as the set v2 predicted (one sent without its set would not be).
  assert.equal(r.metrics['accepted.examples'], kept);
  const rehearsed = r.gate.metrics.find((m) => m.name === 'earlier.jaccard');
  assert.ok(rehearsed, r.gate.metrics.map((m) => m.name).join(', '));
  assert.ok(
    (rehearsed.stable ?? 0) > 0.5,
    `v2 knows ${rehearsed.stable} of the first batch's held-out sets (it trained on the rest)`,
  );
  assert.match(r.gate.notes!.join('\n'), /on the \d+ new and \d+ earlier held-out corrections/);
  t.diagnostic(
    `cycle 2: ${r.status}; ${r.gate.metrics.map((m) => `${m.name} ${(m.candidate * 100).toFixed(1)}${m.pass ? '' : ' FAIL'}`).join(', ')}`,
  );
  // It learned more of the drift: the held-out rotated digits no device reported.
  assert.equal(r.status, 'published', JSON.stringify(r.gate));
  const heldOut = slice(rotated, 1000, 1400);
  const [v2, v3] = [await scoreVersion(MODEL, 'v2', heldOut), await scoreVersion(MODEL, r.version, heldOut)];
  t.diagnostic(
    `held-out rotated exact match: v2 ${(v2.exactMatch * 100).toFixed(1)} % → ${r.version} ${(v3.exactMatch * 100).toFixed(1)} %`,
  );
  assert.ok(v3.exactMatch > v2.exactMatch, `exact match ${v2.exactMatch} → ${v3.exactMatch}`);
});

test('a cycle on shuffled tag sets is refused by the gain check, and so is an external candidate that learned nothing', async () => {
  await registerOnnxModel(client, {
    model: SHUFFLED,
    onnx: torch.bytes('multilabel-mlp'),
    labels: [...TAGS],
    input: { dtype: 'float32', normalize: { scale: 1, offset: 0 } },
    output: 'sigmoid',
    golden: await encodeExamples(golden, 'golden'),
    trainableTail: 2,
  });
  await client.putBaseData(SHUFFLED, await encodeExamples(train, 'train'));
  const set = slice(rotated, 0, 600);
  const rand = mulberry32(7);
  const order = [...Array(set.count).keys()].sort(() => rand() - 0.5);
  await reportWrongSets(collector.url, client, SHUFFLED, set, (i) => setOf(set, order[i]!));
  const r = await retrain(client, {
    model: SHUFFLED,
    seed: 3,
    backend: 'cpu',
    canary: false,
    learningRate: 3e-3,
    epochs: 3,
    maxCandidates: 2,
  });
  assert.equal(r.status, 'rejected');
  const gain = r.status === 'rejected' ? r.gate.metrics.find((m) => m.name === 'new.jaccard') : undefined;
  assert.equal(gain?.pass, false, JSON.stringify(r.status === 'rejected' ? r.gate : r));
  assert.match(r.status === 'rejected' ? r.gate.advice!.join('\n') : '', /held-out new examples/);

  // The external path: pull writes multi-hot labels; stable's own bytes as a candidate gain nothing.
  const out = join(dir, 'pull');
  const pulled = await pullWork(client, { model: SHUFFLED, outDir: out });
  const header = readFileSync(join(out, 'train_y.npy')).subarray(0, 128).toString('latin1');
  assert.match(header, new RegExp(`'descr': '<f4'.*'shape': \\(${pulled.counts.train}, ${TAGS.length}\\)`));
  assert.equal(JSON.parse(readFileSync(join(out, 'pull.json'), 'utf8')).multiLabel, true);
  const external = await publishCandidate(client, {
    model: SHUFFLED,
    onnx: torch.bytes('multilabel-mlp'),
    canary: false,
  });
  assert.equal(external.status, 'rejected');
  assert.equal(external.gate.metrics.find((m) => m.name === 'new.jaccard')?.pass, false);
});
