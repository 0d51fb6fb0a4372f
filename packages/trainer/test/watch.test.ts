/**
 * Watch mode against a real collector: a cycle fires when enough labels arrived (and no batch is frozen before),
 * on schedule when fewer did, on a batch a person froze, a rejected cycle's batches are retried with newer labels,
 * and the watch outlives a collector restart. The gate's outcome does not matter here (but for the retry), only
 * that cycles run and what they train on.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  bootstrap,
  CollectorClient,
  loadMnist,
  useBackend,
  watch,
  type RetrainResult,
  type Trigger,
  type WatchOptions,
} from '../src/index.js';
import { KEYS, startCollector, type TestCollector } from './helpers/collector.js';
import { drawer, sendCorrections } from './helpers/corrections.js';

let collector: TestCollector;
let client: CollectorClient;
const examples = drawer(loadMnist('drift', 200));

before(async () => {
  await useBackend('cpu');
  collector = await startCollector();
  client = new CollectorClient({ url: collector.url, token: KEYS.trainer, timeoutMs: 5000 });
  await bootstrap(client, { model: 'digits', examples: 300, epochs: 1, goldenSize: 100 });
});

after(async () => {
  await collector?.close();
});

function options(
  over: Partial<WatchOptions>,
  seen: { trigger: Trigger; result: RetrainResult }[],
  steps: string[] = [],
): WatchOptions {
  return {
    model: 'digits',
    recipe: 'fixed',
    epochs: 1,
    replayRatio: 0.5,
    canary: false,
    gate: { goldenTolerance: 1, recallTolerance: 1, minGain: -1, gainZ: 0, replayTolerance: 1 },
    pollSec: 0.2,
    driftThreshold: null,
    maxCycles: 1,
    onCycle: (result, trigger) => seen.push({ trigger, result }),
    reporter: { step: (m) => steps.push(m), progress() {} },
    signal: AbortSignal.timeout(240_000),
    ...over,
  };
}

const batchIds = async () => (await client.batches('digits')).map((b) => b.id);
const trainedOn = (r: RetrainResult | undefined) => (r && r.status !== 'nothing-new' ? r.batches : []);

test('a cycle fires once enough new labels arrived, and no batch is frozen before', async () => {
  const seen: { trigger: Trigger; result: RetrainResult }[] = [];
  const earlier = await batchIds();
  const watching = watch(client, options({ minLabels: 20 }, seen));
  await sendCorrections(collector.url, examples(10));
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(seen.length, 0, 'ten labels are not enough');
  assert.deepEqual(await batchIds(), earlier, 'polls with fewer than 20 pending labels froze nothing');
  await sendCorrections(collector.url, examples(12));
  assert.equal(await watching, 1);
  assert.equal(seen[0]?.trigger, 'labels');
  const added = (await client.batches('digits')).filter((b) => !earlier.includes(b.id));
  assert.equal(added.length, 1, 'one batch for the cycle');
  assert.equal(added[0]!.counts.examples, 22);
  assert.deepEqual(trainedOn(seen[0]?.result), [added[0]!.id]);
});

test('a cycle fires on schedule when fewer labels arrived', async () => {
  const seen: { trigger: Trigger; result: RetrainResult }[] = [];
  const earlier = await batchIds();
  await sendCorrections(collector.url, examples(5));
  assert.equal(await watch(client, options({ minLabels: 1000, everySec: 1 }, seen)), 1);
  assert.equal(seen[0]?.trigger, 'schedule');
  const added = (await client.batches('digits')).filter((b) => !earlier.includes(b.id));
  assert.deepEqual(
    added.map((b) => b.counts.examples),
    [5],
    'one batch, frozen when the schedule fired',
  );
});

test('a batch frozen by hand and never trained on is used without freezing another', async () => {
  const seen: { trigger: Trigger; result: RetrainResult }[] = [];
  await sendCorrections(collector.url, examples(6));
  const byHand = await client.freezeBatch('digits');
  assert.equal(byHand?.counts.examples, 6);
  assert.equal(await watch(client, options({ minLabels: 6 }, seen)), 1);
  assert.equal(seen[0]?.trigger, 'labels');
  assert.deepEqual(trainedOn(seen[0]?.result), [byHand!.id]);
  assert.equal((await batchIds()).at(-1), byHand!.id, 'no batch after it');
});

test('ties reach the review queue while the watch waits, and no batch is made', async () => {
  const earlier = await batchIds();
  const tied = examples(1);
  await sendCorrections(collector.url, tied, { labelOf: () => '1' });
  await sendCorrections(collector.url, tied, { labelOf: () => '2', devicePrefix: 'other' });
  const steps: string[] = [];
  const stop = new AbortController();
  const watching = watch(client, options({ minLabels: 50, signal: stop.signal }, [], steps));
  const admin = new CollectorClient({ url: collector.url, token: KEYS.admin });
  const inQueue = async () => {
    const queue = (await (await admin.request('GET', '/v1/models/digits/review')).json()) as {
      items: { reason: string }[];
    };
    return queue.items.some((i) => i.reason === 'tie');
  };
  for (let t = 0; t < 50 && !(await inQueue()); t++) await new Promise((r) => setTimeout(r, 100));
  stop.abort();
  assert.equal(await watching, 0);
  assert.ok(await inQueue(), `the tie is in the review queue: ${steps.join(' | ')}`);
  assert.ok(
    steps.some((s) => /0 labeled examples not yet in a batch, 1 tied for the review queue/.test(s)),
    steps.join(' | '),
  );
  assert.deepEqual(await batchIds(), earlier, 'no batch');
});

test('the watch survives a collector restart and fires afterwards', async () => {
  const seen: { trigger: Trigger; result: RetrainResult }[] = [];
  const steps: string[] = [];
  const watching = watch(client, options({ minLabels: 5 }, seen, steps));
  await new Promise((r) => setTimeout(r, 400));
  await collector.stop();
  await new Promise((r) => setTimeout(r, 1000));
  assert.ok(
    steps.some((s) => /collector unavailable/.test(s)),
    `the watch says it waits: ${steps.join(' | ')}`,
  );
  await collector.start();
  await sendCorrections(collector.url, examples(8));
  assert.equal(await watching, 1);
  assert.equal(seen[0]?.trigger, 'labels');
  assert.ok(steps.some((s) => /collector is back/.test(s)));
});

test("a rejected cycle's batch is retried together with newer labels once enough of them arrived, not before", async () => {
  const seen: { trigger: Trigger; result: RetrainResult }[] = [];
  const earlier = await batchIds();
  // The first cycle asks for an impossible gain (100 points), so it is rejected; the next passes whatever it learned.
  const gate = { goldenTolerance: 1, recallTolerance: 1, replayTolerance: 1, minGain: 1, gainZ: 0 };
  const steps: string[] = [];
  const watching = watch(
    client,
    options(
      {
        minLabels: 10,
        maxCycles: 2,
        gate,
        onCycle: (result, trigger) => {
          seen.push({ result, trigger });
          gate.minGain = -1;
        },
      },
      seen,
      steps,
    ),
  );
  await sendCorrections(collector.url, examples(10));
  for (let t = 0; t < 600 && seen.length === 0; t++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(seen[0]?.result.status, 'rejected');
  const [rejected] = trainedOn(seen[0]?.result);
  assert.ok(
    steps.some((s) => /rejected: batches .* wait for 10 more labeled examples/.test(s)),
    steps.join(' | '),
  );
  await sendCorrections(collector.url, examples(5));
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(seen.length, 1, 'five new labels are not enough for a retry');
  await sendCorrections(collector.url, examples(6));
  assert.equal(await watching, 2);
  const second = seen[1]!.result;
  assert.equal(second.status, 'published');
  const added = (await client.batches('digits')).filter((b) => !earlier.includes(b.id)).map((b) => b.id);
  assert.equal(added.length, 2);
  assert.deepEqual(
    [...trainedOn(second)].sort(),
    [...added].sort(),
    'the retry trains on the rejected batch and the new one',
  );
  assert.ok(trainedOn(second).includes(rejected!));
});
