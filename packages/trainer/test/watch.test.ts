/**
 * Watch mode against a real collector: a cycle fires when enough labels arrived, on schedule when fewer did,
 * and the watch outlives a collector restart. The gate's outcome does not matter here, only that cycles run.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bootstrap, CollectorClient, loadMnist, pick, useBackend, watch, type RetrainResult, type Trigger, type WatchOptions } from '../src/index.js';
import { KEYS, startCollector, type TestCollector } from './helpers/collector.js';
import { sendCorrections } from './helpers/corrections.js';

let collector: TestCollector;
let client: CollectorClient;
const pool = loadMnist('drift', 200);
let next = 0;
const examples = (n: number) => pick(pool, [...Array(n).keys()].map((i) => next++));

before(async () => {
  await useBackend('cpu');
  collector = await startCollector();
  client = new CollectorClient({ url: collector.url, token: KEYS.trainer, timeoutMs: 5000 });
  await bootstrap(client, { model: 'digits', examples: 300, epochs: 1, goldenSize: 100 });
});

after(async () => {
  await collector?.close();
});

function options(over: Partial<WatchOptions>, seen: { trigger: Trigger; result: RetrainResult }[], steps: string[] = []): WatchOptions {
  return {
    model: 'digits',
    epochs: 1,
    replayRatio: 0.5,
    canary: false,
    gate: { goldenTolerance: 1, recallTolerance: 1 },
    pollSec: 0.2,
    driftThreshold: null,
    maxCycles: 1,
    onCycle: (result, trigger) => seen.push({ trigger, result }),
    reporter: { step: (m) => steps.push(m), progress() {} },
    signal: AbortSignal.timeout(240_000),
    ...over,
  };
}

test('a cycle fires once enough new labels arrived', async () => {
  const seen: { trigger: Trigger; result: RetrainResult }[] = [];
  const watching = watch(client, options({ minLabels: 20 }, seen));
  await sendCorrections(collector.url, examples(10));
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(seen.length, 0, 'ten labels are not enough');
  await sendCorrections(collector.url, examples(12));
  assert.equal(await watching, 1);
  assert.equal(seen[0]?.trigger, 'labels');
  assert.notEqual(seen[0]?.result.status, 'nothing-new');
});

test('a cycle fires on schedule when fewer labels arrived', async () => {
  const seen: { trigger: Trigger; result: RetrainResult }[] = [];
  await sendCorrections(collector.url, examples(5));
  assert.equal(await watch(client, options({ minLabels: 1000, everySec: 1 }, seen)), 1);
  assert.equal(seen[0]?.trigger, 'schedule');
});

test('the watch survives a collector restart and fires afterwards', async () => {
  const seen: { trigger: Trigger; result: RetrainResult }[] = [];
  const steps: string[] = [];
  const watching = watch(client, options({ minLabels: 5 }, seen, steps));
  await new Promise((r) => setTimeout(r, 400));
  await collector.stop();
  await new Promise((r) => setTimeout(r, 1000));
  assert.ok(steps.some((s) => /collector unavailable/.test(s)), `the watch says it waits: ${steps.join(' | ')}`);
  await collector.start();
  await sendCorrections(collector.url, examples(8));
  assert.equal(await watching, 1);
  assert.equal(seen[0]?.trigger, 'labels');
  assert.ok(steps.some((s) => /collector is back/.test(s)));
});
