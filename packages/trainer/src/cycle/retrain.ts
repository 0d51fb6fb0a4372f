/**
 * One retraining cycle: freeze what was labeled since the last batch (if anything was), fine-tune the stable model
 * on the new batches plus a replay sample of earlier data, gate the candidate against stable, and publish it as a
 * canary — or publish nothing when it fails the gate.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Batch, GateMetric, Rollout, Version } from '@edgeloop/protocol';
import type { CollectorClient } from '../collector/client.js';
import { concat, mulberry32, pick, shuffled, type ExampleSet } from '../data/examples.js';
import { loadMnist } from '../data/mnist.js';
import { decodeExamples } from '../data/wire.js';
import { TrainerError } from '../errors.js';
import { exportModel } from '../export/artifacts.js';
import { fitModel } from '../train/fit.js';
import { formatGate, runGate, type GateOptions, type GateReport } from './gate.js';
import { stableModel, trainedBatches, untrainedBatches, type StableModel } from './lineage.js';
import { codeVersion, DEFAULT_AUTO_POLICY, DEFAULT_CANARY_PERCENT, publishVersion, startCanary, type CanaryOptions } from './publish.js';
import { silent, type Reporter } from './reporter.js';

export interface RetrainOptions {
  model: string;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** Replay examples per new training example (default 2: old skills outnumber the new batch). */
  replayRatio?: number;
  gate?: GateOptions;
  /** The canary to start on success (default 10 % with DEFAULT_AUTO_POLICY); false publishes without one. */
  canary?: CanaryOptions | false;
  seed?: number;
  /** Batch ids not to train on (watch mode: batches a rejected candidate already tried). */
  exclude?: ReadonlySet<string>;
  /** Name of the backend in use, stored with the version's trainer config. */
  backend?: string;
  reporter?: Reporter;
}

export type RetrainResult =
  | { status: 'nothing-new'; message: string }
  | { status: 'rejected'; parent: string; batches: string[]; gate: GateReport; metrics: Record<string, number> }
  | { status: 'published'; version: string; parent: string; batches: string[]; gate: GateReport; metrics: Record<string, number>; rollout: Rollout | null };

/** What waits to be learned, read without freezing anything. */
export interface Waiting {
  /** Labeled examples a freeze would produce now (the collector's dry run). */
  labels: number;
  /** Tied inputs that freeze would send to the review queue. */
  ties: number;
  /** Batches no version has trained on and not excluded, oldest first (frozen by a person, or left by a failed cycle). */
  unused: Batch[];
  /** Examples in `unused`. */
  unusedExamples: number;
  versions: Version[];
  batches: Batch[];
}

/** What a cycle trains on: the stable version and the batches no version has trained on. */
export interface PendingWork {
  stable: StableModel;
  versions: Version[];
  batches: Batch[];
  pending: Batch[];
  /** Labeled examples in the pending batches. */
  examples: number;
}

const examplesIn = (batches: readonly Batch[]) => batches.reduce((n, b) => n + b.counts.examples, 0);

/** Asks the collector what a freeze would produce and lists the unused batches; freezes nothing. */
export async function waitingWork(client: CollectorClient, model: string, exclude: ReadonlySet<string> = new Set()): Promise<Waiting> {
  const [pending, versions, batches] = await Promise.all([client.pendingLabels(model), client.versions(model), client.batches(model)]);
  const unused = untrainedBatches(batches, versions, exclude);
  return { labels: pending.pending, ties: pending.counts.tiesSentToReview, unused, unusedExamples: examplesIn(unused), versions, batches };
}

/**
 * Ties reach the review queue when a freeze resolves them. With no example pending that freeze makes no batch
 * (409 EL_EMPTY_BATCH) and only records the ties, so a watch that waits for more labels can still hand them to
 * the reviewers. Resolves to whether it froze.
 */
export async function sendTiesToReview(client: CollectorClient, model: string, waiting: Waiting): Promise<boolean> {
  if (waiting.labels > 0 || waiting.ties === 0) return false;
  // A label arriving between the count and this call would make a batch; the next cycle trains on it.
  await client.freezeBatch(model);
  return true;
}

/**
 * Freezes a batch only when labeled examples wait for one (`waiting`, else asked now), then lists the batches no
 * version has trained on: the new one and any frozen earlier. With only ties waiting, sends them to review.
 */
export async function pendingWork(client: CollectorClient, model: string, exclude: ReadonlySet<string> = new Set(), waiting?: Waiting): Promise<PendingWork> {
  const stable = await stableModel(client, model);
  waiting ??= await waitingWork(client, model, exclude);
  let { versions, batches } = waiting;
  // With only ties waiting, the freeze makes no batch and sends them to review (see sendTiesToReview).
  if (waiting.labels > 0 || waiting.ties > 0) {
    // An empty answer with labels waiting means someone froze them in between: listing again finds their batch.
    await client.freezeBatch(model);
    [versions, batches] = await Promise.all([client.versions(model), client.batches(model)]);
  }
  const pending = untrainedBatches(batches, versions, exclude);
  return { stable, versions, batches, pending, examples: examplesIn(pending) };
}

/** Runs one cycle now (if anything is new); see RetrainResult for the outcomes. */
export async function retrain(client: CollectorClient, options: RetrainOptions, work?: PendingWork): Promise<RetrainResult> {
  const r = options.reporter ?? silent;
  const { model } = options;
  const seed = options.seed ?? Date.now() % 2 ** 31;
  work ??= await pendingWork(client, model, options.exclude);
  if (work.pending.length === 0) return { status: 'nothing-new', message: `nothing labeled for "${model}" since its last batch, and every batch has been trained on` };
  const { stable } = work;
  const { labels, input } = stable.version.meta;
  const batchIds = work.pending.map((b) => b.id);
  r.step(`stable is ${stable.version.version}; new batches: ${batchIds.join(', ')} (${work.examples} examples)`);

  const fresh = decodeExamples((await Promise.all(batchIds.map((id) => client.batchExamples(id)))).flat(), labels, input);
  const train = fresh.bySplit.train;
  const val = fresh.bySplit.val;
  if (fresh.skipped.length) r.step(`skipped ${fresh.skipped.length} examples (${fresh.skipped[0]!.why}${fresh.skipped.length > 1 ? ', …' : ''})`);
  if (train.count === 0) throw new TrainerError('ELT_EMPTY_BATCH', [model, `the new batches hold no usable training example (${fresh.skipped.length} skipped)`]);

  const goldenWire = await client.golden(model);
  if (!goldenWire) throw new TrainerError('ELT_NO_GOLDEN_SET', [model, model]);
  const golden = decodeExamples(goldenWire, labels, input).bySplit.golden;

  const replayRatio = options.replayRatio ?? 2;
  const replay = await replaySample(client, work, train, replayRatio, seed);
  r.step(`fine-tuning ${stable.version.version} on ${train.count} new + ${replay.count} replayed examples`);
  const [base, candidate] = [await stable.load(), await stable.load()];
  const epochs = options.epochs ?? 5;
  const learningRate = options.learningRate ?? 3e-4;
  const batchSize = options.batchSize ?? 64;
  const data = shuffled(replay.count ? concat(train, replay) : train, seed);
  const fit = await fitModel(candidate, data, {
    epochs,
    batchSize,
    learningRate,
    seed,
    ...(stable.config.trainableTail !== undefined ? { trainableTail: stable.config.trainableTail } : {}),
    onProgress: (p) => r.progress('train', p.samples, p.total, `epoch ${p.epoch + 1}/${p.epochs} loss ${p.loss.toFixed(4)}`),
  });

  r.step(`gating on ${golden.count} golden and ${val.count} validation examples`);
  const gate = await runGate(base, candidate, golden, val, options.gate);
  r.step(formatGate(gate.report));
  const metrics: Record<string, number> = {
    'golden.accuracy': gate.candidate.golden.accuracy,
    'stable.golden.accuracy': gate.stable.golden.accuracy,
    ...(gate.candidate.val ? { 'val.accuracy': gate.candidate.val.accuracy, 'stable.val.accuracy': gate.stable.val!.accuracy } : {}),
    'train.examples': train.count,
    'replay.examples': replay.count,
    'train.loss': fit.loss.at(-1) ?? NaN,
    'train.samplesPerSec': fit.samplesPerSec,
  };
  if (!gate.report.pass) {
    dispose(base, candidate);
    return { status: 'rejected', parent: stable.version.version, batches: batchIds, gate: gate.report, metrics };
  }

  r.step('exporting TF.js Layers and ONNX (parity-checked on the golden inputs)');
  // ONNX whenever the stable version has it (a user's model may be TF.js only: see register.ts).
  const onnx = stable.version.artifacts.some((a) => a.format === 'onnx');
  const exported = await exportModel(candidate, golden.x, { onnx });
  if (exported.parity) metrics['parity.maxAbsDiff'] = exported.parity.maxAbsDiff;
  dispose(base, candidate);
  const version = await publishVersion(client, model, {
    parent: stable.version.version,
    batches: batchIds,
    metrics: finite(metrics),
    labels,
    input,
    ...(stable.version.meta.policy ? { policy: stable.version.meta.policy } : {}),
    gate: gate.report,
    trainer: { ...stable.config, kind: 'fine-tune', epochs, batchSize, learningRate, replayRatio, seed, backend: options.backend ?? 'cpu', gate: { goldenTolerance: options.gate?.goldenTolerance ?? 0.005, recallTolerance: options.gate?.recallTolerance ?? 0.05 } },
    codeVersion: codeVersion(),
  }, exported.files);
  r.step(`published ${version} (parent ${stable.version.version})`);
  const canary = options.canary === undefined ? { percent: DEFAULT_CANARY_PERCENT, auto: DEFAULT_AUTO_POLICY } : options.canary;
  let rollout: Rollout | null = null;
  if (canary) {
    rollout = await startCanary(client, model, stable.version.version, version, canary, `trainer: ${version} passed the gate against ${stable.version.version}`);
    r.step(`canary ${version} at ${canary.percent} %${canary.auto ? ' with the automatic rollout policy' : ''}`);
  }
  return { status: 'published', version, parent: stable.version.version, batches: batchIds, gate: gate.report, metrics, rollout };
}

/** A seeded uniform sample of earlier data: batches earlier versions trained on, plus the base data set. */
async function replaySample(client: CollectorClient, work: PendingWork, train: ExampleSet, ratio: number, seed: number): Promise<ExampleSet> {
  const want = Math.round(train.count * ratio);
  const empty: ExampleSet = { ...train, x: new Float32Array(0), y: new Int32Array(0), count: 0 };
  if (want === 0) return empty;
  const { labels, input } = work.stable.version.meta;
  const pools: ExampleSet[] = [];
  for (const b of trainedBatches(work.batches, work.versions)) {
    pools.push(decodeExamples(await client.batchExamples(b.id), labels, input).bySplit.train);
  }
  if (work.stable.config.baseData === 'mnist:train') pools.push(loadMnist('train'));
  const pool = pools.filter((p) => p.count > 0);
  if (pool.length === 0) return empty;
  const all = pool.length === 1 ? pool[0]! : concat(...pool);
  const rand = mulberry32(seed ^ 0x5eed);
  const picked = new Set<number>();
  while (picked.size < Math.min(want, all.count)) picked.add(Math.floor(rand() * all.count));
  return pick(all, [...picked]);
}

function finite(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v)));
}

function dispose(...models: tf.LayersModel[]): void {
  for (const m of models) m.dispose();
}

export type { GateMetric };
