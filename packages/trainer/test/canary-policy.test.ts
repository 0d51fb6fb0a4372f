/**
 * `edgeloop-trainer canary-policy` against a real collector: it changes the automatic policy of a canary that is
 * already running (the flags given, the rest of the policy, the percent and a pause kept, the reason in the audit
 * log), and with no canary running it refuses with ELT_NO_CANARY and changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { VersionMeta } from '@edgeloop/protocol';
import { CollectorClient } from '../src/index.js';
import { KEYS, startCollector, type TestCollector } from './helpers/collector.js';
import { runCli } from './helpers/cli.js';

let collector: TestCollector;
let client: CollectorClient;
const AUTO = { stepPercent: 10, maxPercent: 50, intervalSec: 300, minSamples: 200, maxCorrectionRateDelta: 0.02 };

function meta(version: string, parent: string | null): VersionMeta {
  return {
    version,
    parent,
    batches: [],
    metrics: {},
    labels: ['a', 'b'],
    input: { shape: [2], dtype: 'float32', normalize: { scale: 1, offset: 0 } },
    trainer: {},
    codeVersion: 'test',
  };
}

const cli = (model: string, ...args: string[]) =>
  runCli(['canary-policy', '--model', model, '--collector', collector.url, '--token', KEYS.trainer, '--json', ...args]);

const admin = (url: string, payload: object) =>
  collector.app().inject({ method: 'POST', url, headers: { authorization: `Bearer ${KEYS.admin}` }, payload });

before(async () => {
  collector = await startCollector();
  client = new CollectorClient({ url: collector.url, token: KEYS.trainer, timeoutMs: 5000 });
  for (const model of ['digits', 'letters']) {
    await client.publish(model, meta('v1', null), [{ name: 'model.onnx', format: 'onnx', bytes: new Uint8Array([1]) }]);
    await client.publish(model, meta('v2', 'v1'), [{ name: 'model.onnx', format: 'onnx', bytes: new Uint8Array([2]) }]);
  }
  await client.setRollout('digits', { stable: 'v1', canary: 'v2', canaryPercent: 20, auto: AUTO, reason: 'v2 passed' });
  // An operator paused it from the admin page: changing the policy must not resume it.
  const paused = await admin('/v1/models/digits/rollout/pause', { reason: 'watching the canary' });
  assert.equal(paused.statusCode, 200, paused.body);
});

after(async () => {
  await collector?.close();
});

test('canary-policy changes the running canary policy: the flags given, the rest, the percent and the pause kept', async () => {
  const r = await cli('digits', '--canary-step', '5', '--canary-interval', '60', '--reason', 'smaller, faster steps');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr + r.stdout, /v2/);
  const rollout = await client.rollout('digits');
  assert.deepEqual(rollout, {
    stable: 'v1',
    canary: 'v2',
    canaryPercent: 20,
    auto: { ...AUTO, stepPercent: 5, intervalSec: 60, paused: true },
  });
  const history = await collector.app().inject({
    method: 'GET',
    url: '/v1/models/digits/rollout/history?limit=1',
    headers: { authorization: `Bearer ${KEYS.admin}` },
  });
  const [entry] = history.json().entries as { action: string; reason: string }[];
  assert.equal(entry!.reason, 'smaller, faster steps');
});

test('canary-policy with no canary running exits 7 with ELT_NO_CANARY and changes nothing', async () => {
  await client.setRollout('letters', { stable: 'v1', canary: null, canaryPercent: 0, auto: null });
  const before = await client.rollout('letters');
  const r = await cli('letters', '--canary-step', '5');
  assert.equal(r.code, 7, r.stderr);
  assert.equal((r.json.at(-1)?.error as { code?: string } | undefined)?.code, 'ELT_NO_CANARY', r.stdout + r.stderr);
  assert.deepEqual(await client.rollout('letters'), before);
});

test('canary-policy refuses a value out of range before touching the rollout (ELT_BAD_ARGUMENT, exit 2)', async () => {
  const r = await cli('digits', '--canary-step', '0');
  assert.equal(r.code, 2, r.stderr);
  assert.equal((await client.rollout('digits'))?.auto?.stepPercent, 5);
});
