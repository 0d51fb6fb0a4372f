/**
 * Loop latency: from the correction that fires the trainer's label trigger to the first prediction the retrained
 * canary serves on the device. Target: ≤ 120 s on this CPU.
 *
 * The stage is the end-to-end tests' (test/helpers/loop-scene.ts): a real collector (SQLite), the demo page built by
 * Vite in headless Chromium, the trainer CLI watching as a child process (`train --watch`, `--backend cpu`, one
 * candidate of 5 epochs). A fleet labels 400 thick-stroke digits, the page's user reports what v1 gets wrong on 40
 * more; the watcher is started with its trigger one label above what is pending, and the page's next report fires it.
 * The page then predicts a drawing every 250 ms until one comes from v2. Each run starts from scratch (fresh
 * collector, v1 bootstrapped). Rows: the whole loop, and its two halves: the trainer's cycle (trigger → canary set
 * on the collector) and the device's part (canary set → first canary prediction: manifest poll, download, warm-up,
 * swap).
 *
 * Usage: npm run bench -- loop   (LOOP_RUNS=1, up to 3)
 */
import { loadMnist, pick, thicken, useBackend, type ExampleSet } from '@edgeloop/trainer';
import { Fleet, devicesInBuckets } from '../test/helpers/fleet.js';
import {
  KEYS,
  MODEL,
  firstPredictionBy,
  predictInPage,
  reportNextWrong,
  startScene,
  until,
} from '../test/helpers/loop-scene.js';
import { percentile, report, type Row } from './report.js';

const RUNS = Math.min(3, Math.max(1, Number(process.env.LOOP_RUNS ?? 1)));
const TRAIN_ARGS = ['--seed', '3', '--candidates', '1', '--epochs', '5', '--budget-sec', '30'];

const thick = thicken(loadMnist('drift'), 2);
const range = (set: ExampleSet, from: number, to: number) =>
  pick(
    set,
    Array.from({ length: to - from }, (_, i) => from + i),
  );

/** One loop from scratch; resolves with the three durations in ms. */
async function once(): Promise<{ loop: number; trainer: number; device: number }> {
  const scene = await startScene({ controllerTickMs: 5000, pollAfterSec: 1 });
  try {
    const boot = await scene.trainer(['bootstrap', '--examples', '3000', '--epochs', '2']).exit;
    if (boot.code !== 0) throw new Error(`bootstrap failed:\n${boot.out}`);
    const page = devicesInBuckets(MODEL, 'bench-page', 1, 0, 2500)[0]!;
    const demo = await scene.openDemo(page, 60_000);
    const fleet = new Fleet({
      collector: scene.collector,
      ingestKey: KEYS.ingest,
      trainerToken: KEYS.trainer,
      model: MODEL,
      digits: thick,
      devices: devicesInBuckets(MODEL, 'bench-fleet', 15, 0, 10000),
      perRound: 1,
    });
    await fleet.labelAll(range(thick, 0, 400), 'v1');
    await predictInPage(demo.page, range(thick, 400, 440), true);
    const pending = await (
      await fetch(`${scene.collector}/v1/models/${MODEL}/labels/pending`, {
        headers: { authorization: `Bearer ${KEYS.trainer}` },
      })
    ).json();
    const watcher = scene.trainer([
      'train',
      '--watch',
      '--min-labels',
      String((pending as { pending: number }).pending + 1),
      '--poll',
      '0.5',
      '--drift-threshold',
      'off',
      '--max-cycles',
      '1',
      '--canary-percent',
      '25',
      ...TRAIN_ARGS,
    ]);
    await until('the trainer to start watching', 60_000, async () =>
      watcher.output().includes('watching') ? true : undefined,
    );
    const live = range(thick, 440, thick.count);
    const trigger = await reportNextWrong(demo.page, live);
    let canaryAt = 0;
    const canary = until('the v2 canary', 300_000, async () =>
      (await scene.rollout()).canary === 'v2' ? (canaryAt = Date.now()) : undefined,
    );
    const first = await firstPredictionBy(demo.page, live, 'v2', 250, 300_000);
    await canary;
    const trained = await watcher.exit;
    if (trained.code !== 0) throw new Error(`the trainer failed:\n${trained.out}`);
    await fleet.dispose();
    return { loop: first.at - trigger.at, trainer: canaryAt - trigger.at, device: first.at - canaryAt };
  } finally {
    await scene.close();
  }
}

await useBackend('cpu');
const runs: { loop: number; trainer: number; device: number }[] = [];
for (let i = 0; i < RUNS; i++) {
  runs.push(await once());
  console.log(`run ${i + 1}: loop ${(runs.at(-1)!.loop / 1000).toFixed(1)} s`);
}
const s = (ms: number) => Math.round(ms / 100) / 10;
const row = (what: string, key: 'loop' | 'trainer' | 'device', target: string): Row => ({
  what,
  runs: runs.length,
  'median s': s(
    percentile(
      runs.map((r) => r[key]),
      50,
    ),
  ),
  'best s': s(Math.min(...runs.map((r) => r[key]))),
  'worst s': s(Math.max(...runs.map((r) => r[key]))),
  target,
});
report('loop', [
  row('correction → first canary prediction on the device', 'loop', '≤ 120 s'),
  row('  trainer: trigger → canary set', 'trainer', ''),
  row('  device: canary set → first canary prediction', 'device', ''),
]);
