/**
 * Bring your own model: a CNN trained and exported by real PyTorch (NCHW input "image", logits output "scores",
 * opset 13) is registered through the CLI, given its base data, and retrained on a drift its users correct. The
 * published version keeps the app's contract: the same input and output names, NCHW, float32, logits; and
 * @edgeloop/runtime serves it in real headless Chromium (on the page and in its worker) with the predictions
 * onnxruntime-web gives in Node.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import * as ort from 'onnxruntime-web';
import type { Page } from 'playwright-core';
import { inCanary, type GateReport, type OutputSpec } from '@edgeloop/protocol';
import type { Prediction } from '@edgeloop/runtime';
import { launchBrowser, openHarness } from '../../runtime/test/helpers/browser.js';
import { buildPages } from '../../runtime/test/helpers/build.js';
import { ortInNode, referenceProbabilities } from '../../runtime/test/helpers/foreign.js';
import { startAppServer } from '../../runtime/test/helpers/server.js';
import {
  CollectorClient,
  DRIFTS,
  encodeExamples,
  evaluateVersion,
  loadMnist,
  pick,
  take,
  useBackend,
  type ExampleSet,
} from '../src/index.js';
import { runCli } from './helpers/cli.js';
import { KEYS, startCollector, type TestCollector } from './helpers/collector.js';
import { predictAndCorrect } from './helpers/devices.js';
import { asNchw, makeTorchModels, type TorchModels } from './helpers/torch.js';

const MODEL = 'torch-digits';
const EXAMPLE = fileURLToPath(new URL('../../../examples/pytorch/', import.meta.url));
const LABELS = '0,1,2,3,4,5,6,7,8,9';
let collector: TestCollector;
let client: CollectorClient;
let torch: TorchModels;
let dir: string;
const env = () => ({ EDGELOOP_COLLECTOR: collector.url, EDGELOOP_TOKEN: KEYS.trainer });
const slice = (set: ExampleSet, from: number, to: number) =>
  pick(
    set,
    [...Array(to - from).keys()].map((i) => i + from),
  );
const rotated = asNchw(DRIFTS.rotated!(loadMnist('drift')));
const writeNdjson = async (path: string, set: ExampleSet, split: 'golden' | 'train') =>
  writeFileSync(path, (await encodeExamples(set, split)).map((e) => JSON.stringify(e)).join('\n'));

before(async () => {
  await useBackend('cpu');
  collector = await startCollector();
  client = new CollectorClient({ url: collector.url, token: KEYS.trainer });
  dir = mkdtempSync(join(tmpdir(), 'edgeloop-byom-'));
  torch = makeTorchModels(asNchw(take(loadMnist('train'), 3000)));
});

after(async () => {
  await collector?.close();
  if (torch) rmSync(torch.dir, { recursive: true, force: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function session(bytes: Uint8Array) {
  ort.env.wasm.numThreads = 1;
  return ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
}

async function onnxOf(version: string): Promise<Uint8Array> {
  const v = await client.version(MODEL, version);
  return client.artifact(v.artifacts.find((a) => a.format === 'onnx')!.sha256);
}

test('register --onnx publishes a PyTorch model as v1: served as given, with its golden set, layout and output kind', async (t) => {
  const golden = join(dir, 'golden.ndjson');
  // The whole golden part (about 150 examples per class): the gate's recall tolerance assumes that many.
  await writeNdjson(golden, asNchw(loadMnist('golden')), 'golden');
  const started = performance.now();
  const r = await runCli(
    [
      'register',
      '--model',
      MODEL,
      '--onnx',
      torch.path('trained-cnn-opset13'),
      '--labels',
      LABELS,
      '--layout',
      'nchw',
      '--output',
      'logits',
      '--golden',
      golden,
      '--trainable-tail',
      '2',
      '--backend',
      'cpu',
      '--json',
    ],
    env(),
  );
  assert.equal(r.code, 0, r.stderr);
  const result = r.json.at(-1) as {
    version: string;
    names: { input: string; output: string };
    output: string;
    opset: number;
    parity: number;
    metrics: Record<string, number>;
  };
  t.diagnostic(
    `register: ${((performance.now() - started) / 1000).toFixed(1)} s, import parity on 200 golden inputs ${result.parity.toExponential(2)}, golden accuracy ${result.metrics['golden.accuracy']}`,
  );
  assert.deepEqual(
    { version: result.version, names: result.names, output: result.output, opset: result.opset },
    { version: 'v1', names: { input: 'image', output: 'scores' }, output: 'logits', opset: 13 },
  );
  assert.ok(result.parity <= 1e-4, `import parity ${result.parity}`);
  assert.ok(result.metrics['golden.accuracy']! > 0.85, `golden accuracy ${result.metrics['golden.accuracy']}`);
  const v1 = await client.version(MODEL, 'v1');
  assert.deepEqual(
    v1.meta.input,
    { shape: [28, 28, 1], dtype: 'float32', layout: 'nchw', normalize: { scale: 1, offset: 0 } },
    "the app's example, channels last; the model takes it channels first",
  );
  assert.deepEqual(v1.meta.output, { kind: 'logits' });
  assert.deepEqual(
    await onnxOf('v1'),
    new Uint8Array(readFileSync(torch.path('trained-cnn-opset13'))),
    "the app's own ONNX bytes are served",
  );
  assert.equal((await client.rollout(MODEL))?.stable, 'v1');
});

test("base-data uploads the model's training set for replay", async () => {
  const base = join(dir, 'base.ndjson');
  await writeNdjson(base, asNchw(take(loadMnist('train'), 3000)), 'train');
  const r = await runCli(['base-data', '--model', MODEL, '--file', base, '--json'], env());
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.at(-1)!.examples, 3000);
  assert.equal((await client.baseData(MODEL))?.examples.length, 3000);
});

test("users correct a drift (rotated digits): one cycle learns it, replaying the base data, and v2 keeps the app's contract", async (t) => {
  const round = await predictAndCorrect(collector.url, client, MODEL, slice(rotated, 0, 400));
  assert.ok(round.corrections > 40, `v1 got ${round.corrections} of 400 rotated digits wrong`);
  const started = performance.now();
  const r = await runCli(
    ['train', '--model', MODEL, '--backend', 'cpu', '--seed', '3', '--candidates', '2', '--json'],
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
  assert.ok(
    result.gate.metrics.some((m) => m.name === 'replay.accuracy'),
    'the uploaded base data is replayed and gated on',
  );
  assert.ok(result.metrics['parity.maxAbsDiff']! <= 1e-4);

  const v2 = await client.version(MODEL, 'v2');
  assert.equal(v2.meta.output?.kind, 'logits', 'the output kind is kept');
  assert.ok(v2.meta.output!.temperature! > 0, 'with a fitted temperature');
  assert.deepEqual(v2.meta.input, (await client.version(MODEL, 'v1')).meta.input, 'the input spec (NCHW) is kept');
  assert.match(String(v2.meta.trainer.baseData), /^base-data:/, 'the lineage names the base data it replayed');

  const s = await session(await onnxOf('v2'));
  assert.deepEqual([s.inputNames, s.outputNames], [['image'], ['scores']], 'the original input and output names');
  assert.deepEqual(
    (s.inputMetadata[0] as unknown as { shape: readonly (number | string)[]; type: string }).shape.slice(1),
    [1, 28, 28],
    'NCHW, as the app feeds it',
  );
  const probe = slice(rotated, 1000, 1008);
  const out = await s.run({ image: new ort.Tensor('float32', probe.x, [probe.count, 1, 28, 28]) });
  const scores = out.scores!.data as Float32Array;
  assert.equal(out.scores!.type, 'float32');
  const rowSums = [...Array(probe.count).keys()].map((i) =>
    scores.subarray(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0),
  );
  assert.ok(
    scores.some((v) => v < 0) && rowSums.some((sum) => Math.abs(sum - 1) > 0.01),
    'logits, no softmax appended',
  );
  await s.release();

  const heldOut = slice(rotated, 1000, 1400);
  const before = await evaluateVersion(client, MODEL, 'v1', { name: 'rotated', set: heldOut });
  const afterRetrain = await evaluateVersion(client, MODEL, 'v2', { name: 'rotated', set: heldOut });
  t.diagnostic(
    `held-out rotated digits: v1 ${(before.accuracy * 100).toFixed(1)} %, v2 ${(afterRetrain.accuracy * 100).toFixed(1)} %`,
  );
  assert.ok(
    afterRetrain.accuracy > before.accuracy + 0.03,
    `accuracy on held-out rotated digits: v1 ${before.accuracy}, v2 ${afterRetrain.accuracy}`,
  );
});

test('v2 (the canary) is served by @edgeloop/runtime in Chromium, on the page and in a worker: the predictions onnxruntime-web gives in Node', async (t) => {
  const started = performance.now();
  const rollout = (await client.rollout(MODEL))!;
  assert.deepEqual([rollout.stable, rollout.canary], ['v1', 'v2']);
  // A device in v2's canary bucket: the collector's manifest serves it v2.
  const deviceId = [...Array(10_000).keys()]
    .map((i) => `byom-device-${i}`)
    .find((id) => inCanary(MODEL, id, rollout.canaryPercent))!;
  const v2 = await client.version(MODEL, 'v2');
  const bytes = await onnxOf('v2');
  const s = await session(bytes);
  assert.deepEqual([s.inputNames, s.outputNames], [['image'], ['scores']], 'the original input and output names');
  assert.deepEqual(
    (s.inputMetadata[0] as unknown as { shape: readonly (number | string)[] }).shape.slice(1),
    [1, 28, 28],
    'NCHW',
  );
  await s.release();
  assert.equal(v2.meta.input.layout, 'nchw');

  // What the app passes: one digit at a time, channels last ([28, 28, 1]; with one channel the same bytes as NCHW).
  const probe = slice(rotated, 1400, 1416);
  const raw = [...Array(probe.count).keys()].map((i) => [...probe.x.subarray(i * 784, (i + 1) * 784)]);
  const outputs = await ortInNode(bytes, { model: raw, modelShape: [1, 28, 28], modelDtype: 'float32' });
  const reference = outputs.map((o) => referenceProbabilities(o, v2.meta.output as OutputSpec));
  const labels = v2.meta.labels;

  const root = await buildPages();
  const app = await startAppServer(root, collector.url);
  const browser = await launchBrowser();
  const errors: string[] = [];
  try {
    for (const worker of [false, true]) {
      const context = await browser.newContext();
      try {
        const { page } = await openHarness(context, app.url, errors);
        const served = await (page as Page).evaluate(
          async ({ opts, raw }) => {
            await window.kit.create('rt', opts);
            const preds = await window.kit.predictAll('rt', raw);
            const status = window.kit.rts.rt!.status();
            await window.kit.dispose('rt');
            return { preds, engine: status.engine?.name, worker: status.worker, version: status.version };
          },
          {
            opts: {
              collector: app.url,
              key: KEYS.ingest,
              model: MODEL,
              deviceId,
              engine: 'ort-wasm' as const,
              worker,
              pollIntervalMs: 0,
              wasmPaths: { tfjs: `${app.url}/tfjs/` },
            },
            raw,
          },
        );
        const where = worker ? 'worker' : 'page';
        assert.deepEqual(
          { engine: served.engine, worker: served.worker, version: served.version },
          { engine: 'ort-wasm', worker, version: 'v2' },
          where,
        );
        assertSameScores(served.preds, reference, labels, where);
        assert.ok(
          served.preds.every((p) => p.version === 'v2' && p.channel === 'canary'),
          where,
        );
      } finally {
        await context.close();
      }
    }
    assert.deepEqual(errors, [], 'no page errors');
  } finally {
    await browser.close();
    await app.close();
  }
  t.diagnostic(
    `v2 in Chromium (page + worker, ${probe.count} digits each, pages build included): ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
});

/** The runtime's scores equal the reference's (softmax of the logits at v2's temperature), and so do its labels. */
function assertSameScores(preds: Prediction[], expected: number[][], labels: string[], where: string): void {
  assert.equal(preds.length, expected.length, where);
  preds.forEach((p, i) => {
    const want = expected[i]!;
    const best = want.indexOf(Math.max(...want));
    assert.equal(p.label, labels[best], `${where}, digit ${i}: label`);
    assert.ok(
      Math.abs(p.confidence - want[best]!) < 1e-5,
      `${where}, digit ${i}: confidence ${p.confidence} vs ${want[best]}`,
    );
    for (const k of p.topK)
      assert.ok(
        Math.abs(k.p - want[labels.indexOf(k.label)]!) < 1e-5,
        `${where}, digit ${i}, label ${k.label}: ${k.p} vs ${want[labels.indexOf(k.label)]}`,
      );
  });
}

test('the PyTorch round trip: pull, fine-tune in PyTorch (examples/pytorch), publish through the same gate — or be refused', async (t) => {
  await predictAndCorrect(collector.url, client, MODEL, slice(rotated, 400, 800), 'round-trip');
  const work = join(dir, 'pull');
  const pull = await runCli(['pull', '--model', MODEL, '--out', work, '--json'], env());
  assert.equal(pull.code, 0, pull.stderr);
  const pulled = pull.json.at(-1) as {
    stable: string;
    batches: string[];
    counts: { train: number; replay: number; golden: number };
  };
  assert.equal(pulled.stable, 'v1', 'the canary v2 is not stable yet: the candidate is trained from v1');
  assert.equal(pulled.batches.length, 1);
  for (const f of [
    'train_x.npy',
    'train_y.npy',
    'replay_x.npy',
    'replay_y.npy',
    'golden_x.npy',
    'golden_y.npy',
    'labels.txt',
    'pull.json',
  ])
    assert.ok(existsSync(join(work, f)), f);
  assert.equal(readFileSync(join(work, 'labels.txt'), 'utf8'), LABELS.split(',').join('\n') + '\n');
  assert.ok(
    pulled.counts.train > 20 && pulled.counts.replay > 1000 && pulled.counts.golden === loadMnist('golden').count,
    JSON.stringify(pulled.counts),
  );

  const started = performance.now();
  const candidate = join(dir, 'candidate.onnx');
  const ft = spawnSync(
    process.env.PYTHON ?? '/usr/bin/python3',
    ['finetune.py', work, '--checkpoint', join(torch.dir, 'trained-cnn.pt'), '--out', candidate],
    { cwd: EXAMPLE, encoding: 'utf8', timeout: 300_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } },
  );
  assert.equal(ft.status, 0, ft.stderr);
  t.diagnostic(`PyTorch fine-tune: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  for (const line of ft.stdout.split('\n').filter((l) => l.startsWith('alpha'))) t.diagnostic(`PyTorch ${line}`);

  const batches = pulled.batches.join(',');
  const same = await runCli(
    [
      'publish',
      '--model',
      MODEL,
      '--onnx',
      torch.path('trained-cnn-opset13'),
      '--batches',
      batches,
      '--backend',
      'cpu',
      '--json',
    ],
    env(),
  );
  assert.equal(same.code, 8, 'v1 itself learned nothing: the gate refuses it');
  assert.equal((same.json.at(-1)!.gate as GateReport).metrics.find((m) => m.name === 'new.accuracy')?.pass, false);
  const renamed = await runCli(
    ['publish', '--model', MODEL, '--onnx', torch.path('cnn-opset13'), '--batches', batches, '--backend', 'cpu'],
    env(),
  );
  assert.equal(renamed.code, 11);
  assert.match(renamed.stderr, /ELT_BAD_MODEL: .*its input is "pixels", the app feeds "image"/);

  const r = await runCli(
    ['publish', '--model', MODEL, '--onnx', candidate, '--batches', batches, '--backend', 'cpu', '--json'],
    env(),
  );
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const result = r.json.at(-1) as { status: string; version: string; parent: string; gate: GateReport };
  const gain = result.gate.metrics.find((m) => m.name === 'new.accuracy');
  t.diagnostic(`gate, held-out new: candidate ${gain?.candidate} against ${gain?.threshold} asked`);
  assert.deepEqual(
    { status: result.status, version: result.version, parent: result.parent },
    { status: 'published', version: 'v3', parent: 'v1' },
    JSON.stringify(result.gate),
  );
  const v3 = await client.version(MODEL, 'v3');
  assert.deepEqual(v3.meta.batches, pulled.batches, 'lineage: the batches it was trained on');
  assert.equal(v3.meta.gate?.pass, true);
  assert.deepEqual(
    await onnxOf('v3'),
    new Uint8Array(readFileSync(candidate)),
    'the candidate is served as it was trained',
  );
  assert.equal((await client.rollout(MODEL))?.canary, 'v3');
});

test('register --onnx with ops the importer does not know fails with ELT_UNSUPPORTED_OP, naming each op and node', async () => {
  const r = await runCli(
    [
      'register',
      '--model',
      'gelu-model',
      '--onnx',
      torch.path('unsupported-opset13'),
      '--labels',
      LABELS,
      '--backend',
      'cpu',
    ],
    env(),
  );
  assert.equal(r.code, 9);
  assert.match(r.stderr, /error ELT_UNSUPPORTED_OP: .*Erf \(node "\/Erf"\).*Resize \(node "\/up\/Resize"\)/);
  assert.deepEqual(await client.versions('gelu-model'), [], 'nothing was published');
});
