/**
 * The whole loop against a real collector: bootstrap from MNIST, a drifted slice corrected by users and learned
 * (gate passes, canary starts, accuracy on the slice rises), shuffled labels stopped by the gate, and the CLI's
 * errors. The CLI runs as a child process; the collector runs in this process.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { inCanary, promoteCanary, type GateReport } from '@edgeloop/protocol';
import {
  CollectorClient,
  DEFAULT_AUTO_POLICY,
  DRIFTS,
  evaluateVersion,
  loadMnist,
  pick,
  useBackend,
  type CandidateRow,
  type ExampleSet,
} from '../src/index.js';
import { runCli } from './helpers/cli.js';
import { KEYS, startCollector, type TestCollector } from './helpers/collector.js';
import { sendCorrections } from './helpers/corrections.js';
import { predictAndCorrect } from './helpers/devices.js';

let collector: TestCollector;
let client: CollectorClient;
const slice = (set: ExampleSet, from: number, to: number) =>
  pick(
    set,
    [...Array(to - from).keys()].map((i) => i + from),
  );
const rotated = DRIFTS.rotated!(loadMnist('drift'));
const heldOut = slice(rotated, 1000, 1400);
/** A device id the 10 % canary serves. */
const canaryDevice = () => [...Array(1000).keys()].map((i) => `probe-${i}`).find((d) => inCanary('digits', d, 10))!;
const env = () => ({ EDGELOOP_COLLECTOR: collector.url, EDGELOOP_TOKEN: KEYS.trainer });
/** `train` on the test model, seeded, with `candidates` candidates; kept predictions count as accepted at once. */
const trainArgs = (candidates: number, ...more: string[]) => [
  ...['train', '--model', 'digits', '--backend', 'cpu', '--seed', '3', '--candidates', String(candidates)],
  ...['--settled-sec', '0', '--json', ...more],
];
/** Right predictions v1's devices kept in the first round (accepted by every later cycle of the lineage). */
let keptByV1 = 0;

before(async () => {
  await useBackend('cpu');
  collector = await startCollector();
  client = new CollectorClient({ url: collector.url, token: KEYS.trainer });
});

after(async () => {
  await collector?.close();
});

test('bootstrap trains on MNIST, uploads the golden set and publishes v1 as stable', async () => {
  const r = await runCli(
    ['bootstrap', '--model', 'digits', '--examples', '3000', '--epochs', '3', '--backend', 'cpu', '--json'],
    env(),
  );
  assert.equal(r.code, 0, r.stderr);
  const result = r.json.at(-1)!;
  assert.equal(result.status, 'published');
  assert.equal(result.version, 'v1');
  assert.equal((result.backend as { name: string }).name, 'cpu');
  const rollout = await client.rollout('digits');
  assert.deepEqual({ stable: rollout?.stable, canary: rollout?.canary }, { stable: 'v1', canary: null });
  const v1 = await client.version('digits', 'v1');
  assert.deepEqual(v1.artifacts.map((a) => a.name).sort(), ['model.json', 'model.onnx', 'weights.bin']);
  assert.ok(v1.meta.metrics['golden.accuracy']! > 0.9, `golden accuracy ${v1.meta.metrics['golden.accuracy']}`);
  assert.ok(v1.meta.metrics['parity.maxAbsDiff']! <= 1e-4);
  const golden = await client.golden('digits');
  assert.equal(golden?.length, loadMnist('golden').count);
});

test('train with nothing new labeled exits 0 and says so', async () => {
  const r = await runCli(['train', '--model', 'digits', '--backend', 'cpu'], env());
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /nothing new to learn/);
  assert.deepEqual(await client.batches('digits'), [], 'no batch was frozen');
});

test('devices correct only their wrong predictions of a drift (rotated digits): one cycle learns it, gated on a real gain, calibrated, as a canary', async () => {
  const round = await predictAndCorrect(collector.url, client, 'digits', slice(rotated, 0, 400));
  keptByV1 = round.kept;
  assert.ok(round.kept > 10, `the devices kept ${round.kept} right predictions (low-confidence or sampled)`);
  assert.ok(
    round.corrections > 80 && round.corrections < 400,
    `stable got ${round.corrections} of 400 rotated digits wrong`,
  );
  // The devices' reports are all in (--settled-sec 0); npm start's brisk policy (the canary's percent stays the default).
  const brisk = ['--canary-step', '25', '--canary-max', '75', '--canary-interval', '30', '--canary-min-samples', '100'];
  const r = await runCli(trainArgs(2, ...brisk), env());
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const result = r.json.at(-1) as {
    status: string;
    version: string;
    gate: GateReport;
    candidates: CandidateRow[];
    metrics: Record<string, number>;
  };
  assert.equal(result.status, 'published', JSON.stringify(result.gate));
  assert.equal(result.version, 'v2');
  assert.equal(result.gate.pass, true);
  const names = result.gate.metrics.map((m) => m.name);
  for (const name of ['golden.accuracy', 'golden.recall.8', 'new.accuracy', 'replay.accuracy'])
    assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
  const gain = result.gate.metrics.find((m) => m.name === 'new.accuracy')!;
  assert.ok(
    gain.candidate >= gain.stable! + 0.05,
    `held-out corrections: stable ${gain.stable}, candidate ${gain.candidate}`,
  );
  assert.ok(
    result.gate.notes!.some((n) => /corrections are the inputs stable got wrong/.test(n)),
    "stable's score on corrections is reported for what it is",
  );
  assert.equal(
    result.metrics['accepted.examples'],
    round.kept,
    'every right prediction the devices kept is accepted: trained on, and held out to choose',
  );
  assert.equal(result.candidates.length, 2);
  assert.ok(result.candidates.every((c) => c.status === 'trained' && c.heldOutNew !== null));
  assert.match(
    result.candidates.find((c) => c.gate)!.gate!,
    /pass at α [\d.]+$/,
    'the table says which mix the gate passed',
  );

  const rollout = await client.rollout('digits');
  assert.equal(rollout?.stable, 'v1');
  assert.equal(rollout?.canary, 'v2');
  assert.equal(rollout?.canaryPercent, 10);
  assert.deepEqual(
    rollout?.auto,
    { ...DEFAULT_AUTO_POLICY, stepPercent: 25, maxPercent: 75, intervalSec: 30, minSamples: 100 },
    'the automatic rollout policy is set, as the flags say',
  );
  const v2 = await client.version('digits', 'v2');
  assert.equal(v2.meta.parent, 'v1');
  assert.equal(v2.meta.batches.length, 1);
  assert.equal(v2.meta.gate?.pass, true);
  const t = v2.meta.output?.temperature;
  assert.ok(t !== undefined && t > 0, 'a fitted temperature is stored with the version');
  assert.deepEqual(v2.meta.gate?.calibration?.temperature, t);
  assert.ok(Number.isFinite(v2.meta.metrics['ece.before']) && Number.isFinite(v2.meta.metrics['ece.after']));
  assert.equal(
    v2.meta.metrics['golden.baseline'],
    v2.meta.metrics['stable.golden.accuracy'],
    "the lineage's golden baseline is v1's, kept for later cycles",
  );
  assert.ok(Number.isSafeInteger(v2.meta.metrics['golden.hash']), 'with the golden set it was measured on');
  const manifest = (await (
    await fetch(`${collector.url}/v1/models/digits/manifest?device=${canaryDevice()}`, {
      headers: { authorization: `Bearer ${KEYS.ingest}` },
    })
  ).json()) as { version: string; output?: { temperature: number } };
  assert.deepEqual(
    { version: manifest.version, temperature: manifest.output?.temperature },
    { version: 'v2', temperature: t },
    'the manifest serves the temperature to the runtime',
  );

  const before = await evaluateVersion(client, 'digits', 'v1', { name: 'rotated', set: heldOut });
  const afterRetrain = await evaluateVersion(client, 'digits', 'v2', { name: 'rotated', set: heldOut });
  assert.ok(
    afterRetrain.accuracy > before.accuracy + 0.1,
    `accuracy on held-out rotated digits: v1 ${before.accuracy}, v2 ${afterRetrain.accuracy}`,
  );
});

test('a candidate trained on shuffled labels is stopped by the gate and nothing is published', async () => {
  const clean = slice(loadMnist('drift'), 500, 900);
  await sendCorrections(collector.url, clean, { labelOf: (i, label) => String((Number(label) + 1 + (i % 9)) % 10) });
  const versionsBefore = (await client.versions('digits')).map((v) => v.version);
  const rolloutBefore = await client.rollout('digits');
  const r = await runCli(
    ['train', '--model', 'digits', '--backend', 'cpu', '--seed', '3', '--candidates', '2', '--json'],
    env(),
  );
  assert.equal(r.code, 8, r.stderr);
  const result = r.json.at(-1) as { status: string; gate: GateReport; metrics: Record<string, number> };
  assert.equal(result.status, 'rejected');
  assert.ok(
    result.metrics['earlier.examples']! > 0,
    'the rotated corrections v2 trained on are rehearsed beside the new batch',
  );
  assert.ok(
    result.gate.metrics.some((m) => m.name === 'earlier.accuracy'),
    'and their held-out part is gated on',
  );
  assert.equal(result.gate.pass, false);
  assert.equal(
    result.gate.metrics.find((m) => m.name === 'new.accuracy')?.pass,
    false,
    `the gain check refuses it: ${JSON.stringify(result.gate.metrics)}`,
  );
  assert.ok(
    result.gate.advice?.some((a) => /held-out new examples/.test(a)),
    'the report says what failed and what would help',
  );
  assert.deepEqual(
    (await client.versions('digits')).map((v) => v.version),
    versionsBefore,
  );
  assert.deepEqual(await client.rollout('digits'), rolloutBefore);
});

test('a refused token and an unreachable collector give clear errors and non-zero exits', async () => {
  const bad = await runCli(['train', '--model', 'digits', '--backend', 'cpu'], {
    ...env(),
    EDGELOOP_TOKEN: 'not-a-key-0123456789abcdef',
  });
  assert.equal(bad.code, 4);
  assert.match(bad.stderr, /ELT_BAD_TOKEN: The collector refused the token/);
  const down = await runCli(
    ['train', '--model', 'digits', '--backend', 'cpu', '--collector', 'http://127.0.0.1:9', '--json'],
    env(),
  );
  assert.equal(down.code, 3);
  assert.equal((down.json[0]!.error as { code: string }).code, 'ELT_COLLECTOR_UNREACHABLE');
  const usage = await runCli(['train', '--backend', 'cpu'], env());
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--model is required/);
  const policy = await runCli(['train', '--model', 'digits', '--backend', 'cpu', '--canary-interval', '0'], env());
  assert.equal(policy.code, 2);
  assert.match(policy.stderr, /--canary-interval/);
});

test('evaluate prints and writes a report; export writes a stored version with a parity-checked ONNX', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-cli-'));
  try {
    const reportPath = join(dir, 'report.json');
    const ev = await runCli(
      [
        'evaluate',
        '--model',
        'digits',
        '--version',
        'v2',
        '--data',
        'mnist:drift:thick',
        '--out',
        reportPath,
        '--backend',
        'cpu',
      ],
      env(),
    );
    assert.equal(ev.code, 0, ev.stderr);
    assert.match(ev.stdout, /digits v2 on mnist:drift:thick \(\d+ examples\): accuracy \d+\.\d+ %/);
    const report = JSON.parse(readFileSync(reportPath, 'utf8')) as {
      accuracy: number;
      confusion: number[][];
      recall: Record<string, number>;
    };
    assert.equal(report.confusion.length, 10);
    assert.ok(report.accuracy > 0.8 && Object.keys(report.recall).length === 10);

    const ex = await runCli(['export', '--model', 'digits', '--out', dir, '--backend', 'cpu', '--json'], env());
    assert.equal(ex.code, 0, ex.stderr);
    const result = ex.json.at(-1) as { version: string; parity: number };
    assert.equal(result.version, 'v1', 'without --version, the stable version');
    assert.ok(result.parity <= 1e-4);
    for (const f of ['model.onnx', 'tfjs/model.json', 'tfjs/weights.bin', 'meta.json'])
      assert.ok(existsSync(join(dir, f)), f);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a cycle after a promotion trains on the predictions its ancestors got right, not only stable's", async () => {
  const admin = new CollectorClient({ url: collector.url, token: KEYS.admin });
  await admin.call(promoteCanary, { params: { model: 'digits' }, body: { reason: 'test: the canary held up' } });
  assert.equal((await client.rollout('digits'))?.stable, 'v2');
  const round = await predictAndCorrect(collector.url, client, 'digits', slice(rotated, 400, 700), 'after-promotion');
  assert.ok(keptByV1 > 0 && round.kept > 0);
  const r = await runCli(trainArgs(1), env());
  // Published or refused (the shuffled batch of an earlier test is retried with these labels): either way the data
  // it trained on is in the result.
  assert.ok(r.code === 0 || r.code === 8, r.stderr + r.stdout);
  const result = r.json.at(-1) as { metrics: Record<string, number> };
  assert.equal(
    result.metrics['accepted.examples'],
    keptByV1 + round.kept,
    "v2's kept right predictions and v1's, each input once",
  );
});
