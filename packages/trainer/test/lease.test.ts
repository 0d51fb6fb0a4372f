/**
 * Two `edgeloop-trainer train --watch` processes on one model, against a real collector: only the one holding the
 * model's training lease trains it while the other waits, and one killed with SIGKILL mid-cycle has its job taken
 * over by the other once the lease's time-to-live has passed (a short one here), as the next attempt.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { getLease, type Version } from '@edgeloop/protocol';
import { bootstrap, CollectorClient, isTrainerError, loadMnist, TrainingLease, useBackend } from '../src/index.js';
import { KEYS, startCollector, type TestCollector } from './helpers/collector.js';
import { drawer, sendCorrections } from './helpers/corrections.js';
import { runCli, startCli, type CliProcess } from './helpers/cli.js';

let collector: TestCollector;
let client: CollectorClient;
const examples = drawer(loadMnist('drift', 120));
const TTL_SEC = 2;

before(async () => {
  await useBackend('cpu');
  collector = await startCollector();
  client = new CollectorClient({ url: collector.url, token: KEYS.trainer, timeoutMs: 5000 });
  await bootstrap(client, { model: 'digits', examples: 300, epochs: 1, goldenSize: 100 });
});

after(async () => {
  await collector?.close();
});

const running: CliProcess[] = [];
after(() => {
  for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
});

function watcher(holder: string): CliProcess {
  // The gate lets every candidate through: what matters here is who trains when, not what.
  const p = startCli(
    [
      'train',
      '--watch',
      '--model',
      'digits',
      '--backend',
      'cpu',
      '--recipe',
      'fixed',
      '--epochs',
      '1',
      '--replay-ratio',
      '0.5',
      '--no-canary',
      '--golden-tolerance',
      '100',
      '--recall-tolerance',
      '100',
      '--min-gain',
      '0',
      '--replay-tolerance',
      '100',
      '--min-labels',
      '10',
      '--poll',
      '0.2',
      '--drift-threshold',
      'off',
      '--max-cycles',
      '1',
      '--lease-ttl',
      String(TTL_SEC),
      '--holder',
      holder,
    ],
    { EDGELOOP_COLLECTOR: collector.url, EDGELOOP_TOKEN: KEYS.trainer },
  );
  running.push(p);
  return p;
}

const claimedBy = (holder: string) => new RegExp(`^lease \\S+ of "digits" held by ${holder}, attempt (\\d+)`);
const attemptOf = (line: string) => Number(/attempt (\d+)/.exec(line)![1]);

/**
 * The version a watch's cycle published, or null when the gate refused its candidate (the gate here only asks the
 * candidate to match stable on the new examples, which a one-epoch fine-tune may miss by an example).
 */
function publishedVersion(p: CliProcess): string | null {
  const m = /\] published (\S+) \(parent/.exec(p.stdout());
  if (!m) assert.match(p.stdout(), /did not pass the gate: nothing published/);
  return m?.[1] ?? null;
}

const newVersions = (now: Version[], before: Version[]) =>
  now.map((v) => v.version).filter((v) => !before.some((b) => b.version === v));

/** Starts two watches, waits until both watch, then sends labels: both see the trigger within a poll of each other. */
async function twoWatches(a: string, b: string) {
  const procs = { [a]: watcher(a), [b]: watcher(b) };
  await Promise.all(Object.values(procs).map((p) => p.waitFor(/^waiting: 0 labeled examples/, 90_000)));
  await sendCorrections(collector.url, examples(20));
  const first = await Promise.race(
    [a, b].map((h) => procs[h]!.waitFor(claimedBy(h), 60_000).then((l) => ({ holder: h, ...l }))),
  );
  const loser = first.holder === a ? b : a;
  return { winner: procs[first.holder]!, winnerName: first.holder, loser: procs[loser]!, loserName: loser, first };
}

test('two watches on one model never train it at once: the other waits, then trains after the release', async () => {
  const before = await client.versions('digits');
  const { winner, winnerName, loser, loserName, first } = await twoWatches('trainer-a', 'trainer-b');
  assert.equal(attemptOf(first.line), 1);
  const held = await loser.waitFor(new RegExp(`^waiting: ${winnerName} holds the training lease of "digits"`));
  const released = await winner.waitFor(/^lease of "digits" released/, 120_000);
  assert.ok(held.at < released.at, 'the other watch waited while the first trained');
  assert.equal(
    loser.lines.filter((l) => /holds the training lease/.test(l.line)).length,
    1,
    'said once, not every poll',
  );
  assert.deepEqual(await winner.exited, { code: 0, signal: null });
  const firstVersion = publishedVersion(winner);
  assert.deepEqual(newVersions(await client.versions('digits'), before), firstVersion ? [firstVersion] : []);
  const early = loser.lines.find((l) => claimedBy(loserName).test(l.line));
  assert.ok(!early || early.at > released.at, 'the other watch held the lease only after the release');

  // Nothing left for the second watch until new labels come; then it takes the released lease, as a fresh job.
  await sendCorrections(collector.url, examples(20));
  const second = await loser.waitFor(claimedBy(loserName), 60_000);
  assert.ok(second.at > released.at);
  assert.equal(attemptOf(second.line), 1);
  assert.deepEqual(await loser.exited, { code: 0, signal: null });
  const versions = await client.versions('digits');
  const secondVersion = publishedVersion(loser);
  assert.deepEqual(
    newVersions(versions, before).sort(),
    [firstVersion, secondVersion].filter((v) => v !== null).sort(),
  );
  const trained = versions.flatMap((v) => v.meta.batches);
  assert.equal(new Set(trained).size, trained.length, 'no batch was trained on twice');
});

test('a watch killed with SIGKILL mid-cycle has its job taken over by the other after the lease expires', async () => {
  const before = await client.versions('digits');
  const { winner, winnerName, loser, loserName } = await twoWatches('trainer-c', 'trainer-d');
  await winner.waitFor(/^fine-tuning /, 60_000);
  const { expiresAt, attempt, holder } = await client.call(getLease, { params: { model: 'digits' } });
  assert.equal(holder, winnerName);
  winner.child.kill('SIGKILL');
  const killedAt = Date.now();
  assert.equal((await winner.exited).signal, 'SIGKILL');
  assert.equal(attempt, 1);

  const takeover = await loser.waitFor(claimedBy(loserName), (TTL_SEC + 10) * 1000);
  assert.equal(attemptOf(takeover.line), 2);
  assert.match(takeover.line, /taking over from a trainer that stopped/);
  assert.ok(takeover.at >= expiresAt, `not before ${winnerName}'s lease expired (${takeover.at - expiresAt} ms)`);
  assert.ok(
    takeover.at - killedAt <= TTL_SEC * 1000 + 5000,
    `taken over ${takeover.at - killedAt} ms after the kill, within the ttl and a few polls`,
  );
  assert.deepEqual(await loser.exited, { code: 0, signal: null });

  const versions = await client.versions('digits');
  const version = publishedVersion(loser);
  assert.deepEqual(newVersions(versions, before), version ? [version] : [], 'the killed watch published nothing');
  // The batch the killed watch froze is no orphan: the new holder trained on it (or tried, when the gate refused).
  const frozen = (await client.batches('digits')).filter((b) => !before.some((v) => v.meta.batches.includes(b.id)));
  assert.ok(frozen.length >= 1);
  const tried = loser.lines.find((l) => /new batches: /.test(l.line))?.line ?? '';
  for (const b of frozen) assert.ok(tried.includes(b.id), `${b.id} in "${tried}"`);
});

test('a trainer whose lease was taken over while its event loop was blocked publishes nothing', async () => {
  const claimed = await TrainingLease.claim(client, 'digits', { holder: 'stalled', ttlMs: 500 });
  assert.ok(claimed.lease, 'the lease is free');
  // A long synchronous step (a CPU kernel, say) keeps the renewal timer from running past the ttl.
  const until = Date.now() + 700;
  while (Date.now() < until);
  const other = await client.claimLease('digits', 'other', 60_000);
  assert.equal(other.lease?.attempt, 2, 'taken over');
  const stable = (await client.versions('digits')).at(-1)!;
  const count = (await client.versions('digits')).length;
  const guarded = client.guardedBy(() => claimed.lease.confirm());
  await assert.rejects(
    guarded.publish('digits', { ...stable.meta, version: 'never', parent: stable.version }, []),
    (e) => isTrainerError(e, 'ELT_LEASE_LOST'),
  );
  await assert.rejects(guarded.setRollout('digits', { stable: stable.version, canary: null, canaryPercent: 0 }), (e) =>
    isTrainerError(e, 'ELT_LEASE_LOST'),
  );
  assert.equal(await claimed.lease.release(), false, 'a lost lease is not released');
  assert.equal((await client.versions('digits')).length, count, 'nothing published');
  const lease = await client.call(getLease, { params: { model: 'digits' } });
  assert.equal(lease.holder, 'other');
  assert.equal(lease.state, 'held', "the other trainer's lease is untouched");

  // One cycle without --watch while another trainer holds the lease: nothing done, exit 13.
  await sendCorrections(collector.url, examples(5));
  const batches = (await client.batches('digits')).length;
  const once = await runCli(['train', '--model', 'digits', '--backend', 'cpu'], {
    EDGELOOP_COLLECTOR: collector.url,
    EDGELOOP_TOKEN: KEYS.trainer,
  });
  assert.equal(once.code, 13, once.stderr);
  assert.match(once.stderr, /ELT_LEASE_HELD: Another trainer \(other\) is training model "digits" now/);
  assert.equal((await client.batches('digits')).length, batches, 'no batch frozen');
  await client.releaseLease('digits', lease.leaseId);
  const nextOne = await client.claimNextLease(['digits', 'other-model'], 'serving-many', 60_000);
  assert.equal(nextOne?.model, 'other-model', 'a model never claimed comes first');
  assert.equal((await client.claimNextLease(['digits'], 'serving-many', 60_000))?.attempt, 1, 'then the released one');
  assert.equal(await client.claimNextLease(['digits', 'other-model'], 'another', 60_000), null, 'both held');
});
