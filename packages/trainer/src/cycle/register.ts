/**
 * Registration of a user's own TF.js Layers model: published as the first version of a model with the user's
 * labels and input spec, and marked so that retraining fine-tunes its head and keeps the base frozen. ONNX is
 * exported too when every layer is one the exporter knows; otherwise the version is TF.js only, and says why.
 */
import type { Example, InputSpec, Policy } from '@edgeloop/protocol';
import type { CollectorClient } from '../collector/client.js';
import { decodeExamples } from '../data/wire.js';
import { isTrainerError, TrainerError } from '../errors.js';
import { exportModel } from '../export/artifacts.js';
import { exportOnnx } from '../export/onnx.js';
import { loadLayers } from '../export/tfjs-layers.js';
import { evaluateModel } from '../train/evaluate.js';
import { DEFAULT_POLICY } from './bootstrap.js';
import { codeVersion, makeStable, publishVersion } from './publish.js';
import { silent, type Reporter } from './reporter.js';

export interface RegisterOptions {
  model: string;
  /** The model's `model.json` and its weight files by name. */
  modelJson: Uint8Array;
  files: ReadonlyMap<string, Uint8Array>;
  labels: string[];
  input: InputSpec;
  /** Golden examples to upload (skipped when the model already has a golden set). */
  golden?: Example[];
  /** Weighted layers retraining may change, counted from the output (default 1: the head). */
  trainableTail?: number;
  policy?: Policy;
  reporter?: Reporter;
}

export interface RegisterResult {
  version: string;
  onnx: boolean;
  /** Why there is no ONNX artifact, when there is none. */
  onnxSkipped?: string;
  metrics: Record<string, number>;
}

/** Checks the model against its labels and input, uploads the golden set, publishes v1 and makes it stable. */
export async function registerModel(client: CollectorClient, options: RegisterOptions): Promise<RegisterResult> {
  const r = options.reporter ?? silent;
  const { model } = options;
  if ((await client.versions(model)).length > 0) throw new TrainerError('ELT_BAD_ARGUMENT', [`model "${model}" already has versions: register starts a new model name`]);
  const net = await loadLayers({ modelJson: options.modelJson, files: options.files });
  const inShape = net.inputs[0]!.shape.slice(1);
  const outShape = net.outputs[0]!.shape;
  if (inShape.join('x') !== options.input.shape.join('x')) {
    throw new TrainerError('ELT_BAD_MODEL', [`its input is [batch, ${inShape.join(', ')}] but the input spec says [${options.input.shape.join(', ')}]`]);
  }
  if (outShape.length !== 2 || outShape[1] !== options.labels.length) {
    throw new TrainerError('ELT_BAD_MODEL', [`its output is [${outShape.map((d) => d ?? 'batch').join(', ')}] but there are ${options.labels.length} labels`]);
  }
  const metrics: Record<string, number> = {};
  let goldenX: Float32Array | undefined;
  if (options.golden?.length) {
    const golden = decodeExamples(options.golden.map((e) => ({ ...e, split: 'golden' as const })), options.labels, options.input).bySplit.golden;
    metrics['golden.accuracy'] = (await evaluateModel(net, golden)).accuracy;
    goldenX = golden.x;
    if (!(await client.golden(model))) {
      r.step(`uploading the golden set (${options.golden.length} examples)`);
      await client.putGolden(model, options.golden.map((e) => ({ ...e, split: 'golden' as const })));
    }
  }
  let onnxSkipped: string | undefined;
  try {
    await exportOnnx(net);
  } catch (e) {
    if (!isTrainerError(e, 'ELT_UNSUPPORTED_LAYER')) throw e;
    onnxSkipped = e.message;
    r.step(`no ONNX artifact: ${e.message}`);
  }
  const exported = await exportModel(net, goldenX, { onnx: onnxSkipped === undefined });
  if (exported.parity) metrics['parity.maxAbsDiff'] = exported.parity.maxAbsDiff;
  net.dispose();
  const trainableTail = options.trainableTail ?? 1;
  const version = await publishVersion(client, model, {
    parent: null,
    batches: [],
    metrics,
    labels: options.labels,
    input: options.input,
    policy: options.policy ?? DEFAULT_POLICY,
    trainer: { kind: 'register', baseData: null, trainableTail, ...(onnxSkipped ? { onnxSkipped } : {}) },
    codeVersion: codeVersion(),
  }, exported.files);
  await makeStable(client, model, version, `trainer: registered a user model as "${model}"`);
  r.step(`registered ${version} of "${model}" (retraining fine-tunes the last ${trainableTail} weighted layer(s))`);
  return { version, onnx: onnxSkipped === undefined, ...(onnxSkipped ? { onnxSkipped } : {}), metrics };
}
