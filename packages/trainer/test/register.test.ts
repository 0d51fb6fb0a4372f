/**
 * A user's own TF.js Layers model (here the committed digits fixture, which has BatchNorm) registered through the
 * CLI and retrained: only its head changes, its base stays frozen.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { CollectorClient, encodeExamples, loadMnist, storedModel, take, thicken, useBackend } from '../src/index.js';
import { runCli } from './helpers/cli.js';
import { KEYS, startCollector, type TestCollector } from './helpers/collector.js';
import { sendCorrections } from './helpers/corrections.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/digits/tfjs', import.meta.url));
let collector: TestCollector;
let client: CollectorClient;
let dir: string;
const env = () => ({ EDGELOOP_COLLECTOR: collector.url, EDGELOOP_TOKEN: KEYS.trainer });

before(async () => {
  await useBackend('cpu');
  collector = await startCollector();
  client = new CollectorClient({ url: collector.url, token: KEYS.trainer });
  dir = mkdtempSync(join(tmpdir(), 'edgeloop-register-'));
});

after(async () => {
  await collector?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a user model is registered with its golden set, and retraining changes only its head', async () => {
  const goldenFile = join(dir, 'golden.ndjson');
  writeFileSync(
    goldenFile,
    (await encodeExamples(take(loadMnist('golden'), 300), 'golden')).map((e) => JSON.stringify(e)).join('\n'),
  );
  const reg = await runCli(
    [
      'register',
      '--model',
      'my-digits',
      '--from',
      FIXTURE,
      '--labels',
      '0,1,2,3,4,5,6,7,8,9',
      '--input-shape',
      '28,28,1',
      '--golden',
      goldenFile,
      '--backend',
      'cpu',
      '--json',
    ],
    env(),
  );
  assert.equal(reg.code, 0, reg.stderr);
  assert.deepEqual({ version: reg.json.at(-1)!.version, onnx: reg.json.at(-1)!.onnx }, { version: 'v1', onnx: true });
  assert.equal((await client.rollout('my-digits'))?.stable, 'v1');
  assert.equal((await client.golden('my-digits'))?.length, 300);

  await sendCorrections(collector.url, take(thicken(loadMnist('drift'), 1), 80), { model: 'my-digits' });
  const train = await runCli(
    [
      'train',
      '--model',
      'my-digits',
      '--backend',
      'cpu',
      '--epochs',
      '2',
      '--golden-tolerance',
      '100',
      '--recall-tolerance',
      '100',
      '--min-gain',
      '0',
      '--replay-tolerance',
      '100',
      '--no-canary',
      '--json',
    ],
    env(),
  );
  assert.equal(train.code, 0, train.stderr);
  assert.equal(train.json.at(-1)!.status, 'published');

  const [v1, v2] = [
    await (await storedModel(client, 'my-digits', 'v1')).load(),
    await (await storedModel(client, 'my-digits', 'v2')).load(),
  ];
  const weighted = v1.layers.filter((l) => l.weights.length > 0);
  for (const [i, layer] of weighted.entries()) {
    const a = await Promise.all(layer.getWeights().map((w) => w.data()));
    const b = await Promise.all(
      v2
        .getLayer(layer.name)
        .getWeights()
        .map((w) => w.data()),
    );
    if (i < weighted.length - 1) assert.deepEqual(b, a, `base layer ${layer.name} must stay frozen`);
    else assert.notDeepEqual(b, a, `head layer ${layer.name} must be fine-tuned`);
  }
  assert.equal((await client.rollout('my-digits'))?.canary, null, '--no-canary publishes without a canary');
});

test('registering a model whose output does not match its labels is refused with a clear error', async () => {
  const r = await runCli(
    [
      'register',
      '--model',
      'wrong',
      '--from',
      FIXTURE,
      '--labels',
      'a,b,c',
      '--input-shape',
      '28,28,1',
      '--backend',
      'cpu',
    ],
    env(),
  );
  assert.equal(r.code, 11);
  assert.match(r.stderr, /ELT_BAD_MODEL: .*output is \[batch, 10\] but there are 3 labels/);
});
