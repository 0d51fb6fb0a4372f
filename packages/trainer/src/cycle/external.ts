/**
 * The external-trainer path, for teams that keep training in PyTorch: `pull` writes what a cycle would train on as
 * `.npy` files, and `publish` takes the ONNX model they trained back through the same gate against stable before it
 * is published with lineage and a canary. What the gate judges is never pulled: the batches' validation split and a
 * held-out part of their training split, and a held-out part of the base data, each chosen by a hash of the
 * example's content, so the two commands agree on it without sharing any state. A multi-label (sigmoid) model's
 * labels are pulled multi-hot, and its candidate is gated by the multi-label gate.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { Batch, Rollout } from '@edgeloop/protocol';
import { modelInputShape } from '@edgeloop/protocol/model-io';
import type { CollectorClient } from '../collector/client.js';
import { concat, labelCounts, pick, type ExampleSet } from '../data/examples.js';
import { splitByContent } from '../data/holdout.js';
import { encodeNpy, int64s } from '../data/npy.js';
import { decodeExamples } from '../data/wire.js';
import { isTrainerError, TrainerError } from '../errors.js';
import { exportModel } from '../export/artifacts.js';
import { checkParity } from '../export/parity.js';
import { importOnnx, type OutputKind } from '../import/onnx-import.js';
import { withSoftmaxHead } from '../model/softmax-head.js';
import { evaluateStable, formatGate, runGate, type GateData, type GateOptions, type GateReport } from './gate.js';
import { runMultiLabelGate, type MultiLabelGateData } from './multi-label-gate.js';
import { onnxNames, stableModel, trainedBatches, untrainedBatches, type StableModel } from './lineage.js';
import { childMeta, publishVersion, startCanary, type CanaryOptions } from './publish.js';
import { silent, type Reporter } from './reporter.js';
import { replayData, sideBySide } from './cycle-data.js';
import { pendingWork } from './retrain.js';

/** Percent of the new training split, and of the base data, kept back for the gate (by content hash). */
const HELD = { fresh: 10, replay: 15 };
/** At most this many replayed examples are pulled (a prefix of what is not held back). */
export const PULL_REPLAY_MAX = 6000;

/** What the gate of an external candidate sees, and what may be given to the external trainer. */
interface ExternalData {
  stable: StableModel;
  batches: Batch[];
  train: ExampleSet;
  replay: ExampleSet;
  golden: ExampleSet;
  gate: GateData;
  /** Every new example (a multi-label gate measures its constant-set reference on them). */
  allNew: ExampleSet;
  multiLabel: boolean;
}

async function externalData(
  client: CollectorClient,
  model: string,
  batches: Batch[],
  stable: StableModel,
  allBatches: Batch[],
  versions: Parameters<typeof trainedBatches>[1],
): Promise<ExternalData> {
  const { labels, input } = stable.version.meta;
  const multiLabel = stable.version.meta.output?.kind === 'sigmoid';
  const decode = (examples: Parameters<typeof decodeExamples>[0]) =>
    decodeExamples(examples, labels, input, { multiLabel });
  if (batches.length === 0)
    throw new TrainerError('ELT_EMPTY_BATCH', [model, 'no batch waits that no version has trained on']);
  const fresh = decode((await Promise.all(batches.map((b) => client.batchExamples(b.id)))).flat()).bySplit;
  const goldenWire = await client.golden(model);
  if (!goldenWire) throw new TrainerError('ELT_NO_GOLDEN_SET', [model, model]);
  const golden = decode(goldenWire).bySplit.golden;
  // Earlier corrections first, then the base data: the pulled replay is a prefix, and they are few beside a base data
  // set.
  const { pool: replayAll } = await replayData(
    client,
    { stable, batches: allBatches, versions },
    decode,
    false,
    pick(fresh.train, []),
  );
  const [freshHeld, train] = splitByContent(fresh.train, [HELD.fresh]) as [ExampleSet, ExampleSet];
  const [replayHeld, replay] = splitByContent(replayAll, [HELD.replay]) as [ExampleSet, ExampleSet];
  const gate: GateData = {
    golden,
    fresh: freshHeld.count ? concat(fresh.val, freshHeld) : fresh.val,
    replay: pick(replayHeld, [...Array(Math.min(600, replayHeld.count)).keys()]),
    labelCounts: labelCounts(concat(fresh.train, fresh.val)),
  };
  return {
    stable,
    batches,
    train,
    replay: pick(replay, [...Array(Math.min(PULL_REPLAY_MAX, replay.count)).keys()]),
    golden,
    gate,
    allNew: concat(fresh.train, fresh.val),
    multiLabel,
  };
}

export interface PullResult {
  model: string;
  stable: string;
  batches: string[];
  files: string[];
  counts: { train: number; replay: number; golden: number };
}

/**
 * Freezes what was labeled (if anything), then writes to `outDir`: `train_x.npy`/`train_y.npy` (the new batches'
 * examples a candidate may train on), `replay_x.npy`/`replay_y.npy` (base data and earlier corrections),
 * `golden_x.npy`/`golden_y.npy`, `labels.txt` (one label per line, in output order) and `pull.json` (the stable
 * version, batch ids, input spec, output kind and ONNX names). Inputs are the model's inputs (normalised as the
 * runtime does), in its layout; labels index `labels.txt`.
 */
export async function pullWork(
  client: CollectorClient,
  options: { model: string; outDir: string; reporter?: Reporter },
): Promise<PullResult> {
  const r = options.reporter ?? silent;
  const { model, outDir } = options;
  const work = await pendingWork(client, model);
  const data = await externalData(client, model, work.pending, work.stable, work.batches, work.versions);
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, bytes: Uint8Array | string) => {
    writeFileSync(join(outDir, name), bytes);
    files.push(join(outDir, name));
  };
  const { labels, input, output } = work.stable.version.meta;
  for (const [name, set] of [
    ['train', data.train],
    ['replay', data.replay],
    ['golden', data.golden],
  ] as const) {
    write(`${name}_x.npy`, encodeNpy(set.x, [set.count, ...set.shape]));
    write(
      `${name}_y.npy`,
      set.yMulti ? encodeNpy(set.yMulti, [set.count, labels.length]) : encodeNpy(int64s(set.y), [set.count]),
    );
  }
  write('labels.txt', labels.join('\n') + '\n');
  const names = onnxNames(work.stable.config) ?? { input: 'input', output: 'output' };
  const batches = data.batches.map((b) => b.id);
  write(
    'pull.json',
    JSON.stringify(
      {
        model,
        stable: work.stable.version.version,
        batches,
        labels,
        input,
        output: output ?? {},
        onnx: names,
        ...(data.multiLabel ? { multiLabel: true } : {}),
      },
      null,
      2,
    ) + '\n',
  );
  r.step(
    `wrote ${data.train.count} new, ${data.replay.count} replayed and ${data.golden.count} golden examples to ${outDir}`,
  );
  return {
    model,
    stable: work.stable.version.version,
    batches,
    files,
    counts: { train: data.train.count, replay: data.replay.count, golden: data.golden.count },
  };
}

export interface PublishCandidateOptions {
  model: string;
  onnx: Uint8Array;
  /** The batches the candidate was trained on (default: every batch no version has trained on). */
  batches?: string[];
  gate?: GateOptions;
  canary?: CanaryOptions | false;
  reporter?: Reporter;
}

export type PublishCandidateResult =
  | { status: 'rejected'; parent: string; batches: string[]; gate: GateReport }
  | {
      status: 'published';
      version: string;
      parent: string;
      batches: string[];
      gate: GateReport;
      rollout: Rollout | null;
      parity: number;
    };

/**
 * Validates an externally trained ONNX candidate (onnxruntime-web runs it; its input, output and names must be
 * stable's), gates it against stable exactly as a cycle's candidate is gated, and publishes it with lineage and a
 * canary — or publishes nothing.
 */
export async function publishCandidate(
  client: CollectorClient,
  options: PublishCandidateOptions,
): Promise<PublishCandidateResult> {
  const r = options.reporter ?? silent;
  const { model } = options;
  const stable = await stableModel(client, model);
  const [versions, all] = await Promise.all([client.versions(model), client.batches(model)]);
  const untrained = untrainedBatches(all, versions);
  const batches = options.batches
    ? options.batches.map((id) => all.find((b) => b.id === id) ?? missingBatch(model, id))
    : untrained;
  const { labels, input } = stable.version.meta;
  const imported = importOnnx(options.onnx);
  const names = onnxNames(stable.config) ?? { input: 'input', output: 'output' };
  const mismatch = [
    imported.names.input !== names.input && `its input is "${imported.names.input}", the app feeds "${names.input}"`,
    imported.names.output !== names.output &&
      `its output is "${imported.names.output}", the app reads "${names.output}"`,
    imported.inputShape.join('x') !== modelInputShape(input).join('x') &&
      `its input is [batch, ${imported.inputShape.join(', ')}], stable's [batch, ${modelInputShape(input).join(', ')}]`,
    imported.model.outputs[0]!.shape[1] !== labels.length &&
      `its output has ${imported.model.outputs[0]!.shape[1]} classes for ${labels.length} labels`,
    imported.output !== expectedOutput(stable.version.meta.output?.kind) &&
      `it outputs ${imported.output}, stable ${stable.version.meta.output?.kind === 'sigmoid' ? 'one logit per label (sigmoid, without a Sigmoid op in the graph)' : (stable.version.meta.output?.kind ?? 'probabilities')}`,
  ].filter((m): m is string => typeof m === 'string');
  if (mismatch.length)
    throw new TrainerError('ELT_BAD_MODEL', [`the candidate does not keep the app's contract: ${mismatch.join('; ')}`]);
  const data = await externalData(
    client,
    model,
    batches,
    stable,
    all.filter((b) => !batches.includes(b)),
    versions,
  );
  let parity: number;
  try {
    parity = (
      await checkParity(imported.model, options.onnx, {
        names,
        inputs: data.golden.x,
        count: Math.min(200, data.golden.count),
      })
    ).maxAbsDiff;
  } catch (e) {
    if (!isTrainerError(e, 'ELT_PARITY_FAILED')) throw e;
    throw new TrainerError('ELT_IMPORT_PARITY_FAILED', [e.message.replace(/^[^:]*: /, '')], { cause: e });
  }
  // A multi-label candidate is judged on its logits, as stable is; a logits one through a softmax.
  const candidate: tf.LayersModel =
    imported.output === 'logits' && !data.multiLabel ? withSoftmaxHead(imported.model) : imported.model;
  const stableNet = await stable.load();
  r.step(
    `gating the candidate on ${data.gate.golden.count} golden, ${data.gate.fresh.count} held-out new and ${data.gate.replay.count} held-out replayed examples`,
  );
  const { report, metrics: judged } = data.multiLabel
    ? await multiLabelGate(stableNet, candidate, data, options.gate)
    : await singleLabelGate(stableNet, candidate, data, options.gate);
  stableNet.dispose();
  r.step(formatGate(report));
  const batchIds = batches.map((b) => b.id);
  if (!report.pass) {
    candidate.dispose();
    return { status: 'rejected', parent: stable.version.version, batches: batchIds, gate: report };
  }
  const layers = (await exportModel(candidate, undefined, { onnx: false })).files;
  candidate.dispose();
  const metrics: Record<string, number> = { ...judged, 'import.parity.maxAbsDiff': parity };
  const { temperature: _stale, ...output } = stable.version.meta.output ?? {};
  const version = await publishVersion(
    client,
    model,
    childMeta(stable.version, batchIds, {
      metrics,
      ...(Object.keys(output).length ? { output } : {}),
      gate: report,
      trainer: { ...stable.config, kind: 'external', source: 'onnx', onnx: { ...names, opset: imported.opset } },
    }),
    [{ name: 'model.onnx', format: 'onnx', bytes: options.onnx }, ...layers],
  );
  const rollout = await startCanary(
    client,
    model,
    stable.version.version,
    version,
    options.canary,
    `trainer: external candidate ${version} passed the gate against ${stable.version.version}`,
  );
  r.step(
    `published ${version} (parent ${stable.version.version})${rollout ? ` as a ${rollout.canaryPercent} % canary` : ''}`,
  );
  return {
    status: 'published',
    version,
    parent: stable.version.version,
    batches: batchIds,
    gate: report,
    rollout,
    parity,
  };
}

/** The output kind an external candidate's graph must show: a sigmoid model's graph ends in its logits. */
function expectedOutput(kind: OutputKind | undefined): OutputKind {
  return kind === 'sigmoid' ? 'logits' : (kind ?? 'probabilities');
}

async function singleLabelGate(
  stable: tf.LayersModel,
  candidate: tf.LayersModel,
  data: ExternalData,
  options: GateOptions | undefined,
): Promise<{ report: GateReport; metrics: Record<string, number> }> {
  const gate = await runGate(await evaluateStable(stable, data.gate), candidate, data.gate, options);
  return {
    report: gate.report,
    metrics: {
      ...sideBySide('golden.accuracy', gate.candidate.golden.accuracy, gate.stable.golden.accuracy),
      ...sideBySide('new.accuracy', gate.candidate.fresh?.accuracy, gate.stable.fresh?.accuracy),
      ...sideBySide('replay.accuracy', gate.candidate.replay?.accuracy, gate.stable.replay?.accuracy),
    },
  };
}

async function multiLabelGate(
  stable: tf.LayersModel,
  candidate: tf.LayersModel,
  data: ExternalData,
  options: GateOptions | undefined,
): Promise<{ report: GateReport; metrics: Record<string, number> }> {
  const gateData: MultiLabelGateData = {
    golden: data.gate.golden,
    fresh: data.gate.fresh,
    replay: data.gate.replay,
    allNew: data.allNew,
    ...(data.gate.labelCounts ? { labelCounts: data.gate.labelCounts } : {}),
  };
  const gate = await runMultiLabelGate(stable, candidate, gateData, options);
  return {
    report: gate.report,
    metrics: {
      ...sideBySide('golden.microF1', gate.candidate.golden.microF1, gate.stable.golden.microF1),
      ...sideBySide('new.jaccard', gate.candidate.fresh?.jaccard, gate.stable.fresh?.jaccard),
      ...sideBySide('replay.microF1', gate.candidate.replay?.microF1, gate.stable.replay?.microF1),
    },
  };
}

function missingBatch(model: string, id: string): never {
  throw new TrainerError('ELT_BAD_ARGUMENT', [`--batches: "${id}" is not a batch of "${model}"`]);
}
