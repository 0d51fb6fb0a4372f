/**
 * Registration of a user's own model — a TF.js Layers model, or an ONNX model imported as one — published as the
 * first version of a model with the user's labels and input spec, and marked so that retraining fine-tunes its head
 * and keeps the base frozen. A TF.js model gets an ONNX export too when every layer is one the exporter knows
 * (otherwise the version is TF.js only, and says why). An ONNX model is published as it was given, beside its
 * imported TF.js twin, once the two agree on the golden inputs; later exports keep its input and output names,
 * its layout and its output kind.
 */
import type { Example, InputSpec, OutputSpec, Policy } from '@edgeloop/protocol';
import type { CollectorClient } from '../collector/client.js';
import { decodeExamples } from '../data/wire.js';
import { isTrainerError, TrainerError } from '../errors.js';
import { exportModel } from '../export/artifacts.js';
import { exportOnnx, ONNX_FILE } from '../export/onnx.js';
import { checkParity } from '../export/parity.js';
import { loadLayers } from '../export/tfjs-layers.js';
import { importOnnx, type OutputKind } from '../import/onnx-import.js';
import { evaluateModel } from '../train/evaluate.js';
import { evaluateMultiLabel } from '../train/multi-label.js';
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
  if ((await client.versions(model)).length > 0)
    throw new TrainerError('ELT_BAD_ARGUMENT', [
      `model "${model}" already has versions: register starts a new model name`,
    ]);
  const net = await loadLayers({ modelJson: options.modelJson, files: options.files });
  const inShape = net.inputs[0]!.shape.slice(1);
  const outShape = net.outputs[0]!.shape;
  if (inShape.join('x') !== options.input.shape.join('x')) {
    throw new TrainerError('ELT_BAD_MODEL', [
      `its input is [batch, ${inShape.join(', ')}] but the input spec says [${options.input.shape.join(', ')}]`,
    ]);
  }
  if (outShape.length !== 2 || outShape[1] !== options.labels.length) {
    throw new TrainerError('ELT_BAD_MODEL', [
      `its output is [${outShape.map((d) => d ?? 'batch').join(', ')}] but there are ${options.labels.length} labels`,
    ]);
  }
  const metrics: Record<string, number> = {};
  let goldenX: Float32Array | undefined;
  if (options.golden?.length) {
    const golden = decodeExamples(
      options.golden.map((e) => ({ ...e, split: 'golden' as const })),
      options.labels,
      options.input,
    ).bySplit.golden;
    metrics['golden.accuracy'] = (await evaluateModel(net, golden)).accuracy;
    goldenX = golden.x;
    if (!(await client.golden(model))) {
      r.step(`uploading the golden set (${options.golden.length} examples)`);
      await client.putGolden(
        model,
        options.golden.map((e) => ({ ...e, split: 'golden' as const })),
      );
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
  const version = await publishVersion(
    client,
    model,
    {
      parent: null,
      batches: [],
      metrics,
      labels: options.labels,
      input: options.input,
      policy: options.policy ?? DEFAULT_POLICY,
      trainer: { kind: 'register', baseData: null, trainableTail, ...(onnxSkipped ? { onnxSkipped } : {}) },
      codeVersion: codeVersion(),
    },
    exported.files,
  );
  await makeStable(client, model, version, `trainer: registered a user model as "${model}"`);
  r.step(`registered ${version} of "${model}" (retraining fine-tunes the last ${trainableTail} weighted layer(s))`);
  return { version, onnx: onnxSkipped === undefined, ...(onnxSkipped ? { onnxSkipped } : {}), metrics };
}

export interface RegisterOnnxOptions {
  model: string;
  /** The ONNX model's bytes. */
  onnx: Uint8Array;
  labels: string[];
  /** Layout, dtype and normalisation of the input; its shape is the ONNX input's (without the batch). */
  input: Omit<InputSpec, 'shape'>;
  /**
   * What the output holds (default: read from the graph, 'probabilities' when it ends in a Softmax, else 'logits').
   * 'sigmoid' (multi-label) needs a graph that ends in its logits, without a Sigmoid op.
   */
  output?: OutputKind;
  golden?: Example[];
  trainableTail?: number;
  policy?: Policy;
  reporter?: Reporter;
}

export interface RegisterOnnxResult extends RegisterResult {
  names: { input: string; output: string };
  output: OutputKind;
  opset: number;
  /** Max |TF.js − onnxruntime-web| of the imported model on the golden inputs (seeded noise without a golden set). */
  parity: number;
}

/** Imports an ONNX model, checks it against onnxruntime-web, uploads the golden set, publishes v1 and makes it stable. */
export async function registerOnnxModel(
  client: CollectorClient,
  options: RegisterOnnxOptions,
): Promise<RegisterOnnxResult> {
  const r = options.reporter ?? silent;
  const { model } = options;
  if ((await client.versions(model)).length > 0)
    throw new TrainerError('ELT_BAD_ARGUMENT', [
      `model "${model}" already has versions: register starts a new model name`,
    ]);
  const imported = importOnnx(options.onnx);
  const { model: net, names, opset } = imported;
  const output = options.output ?? imported.output;
  // Kind "sigmoid" means one logit per label: the runtime applies the sigmoid (with the calibration temperature), and
  // retraining learns the logits. A graph that applies it already would have it applied twice.
  if (output === 'sigmoid' && imported.output === 'sigmoid')
    throw new TrainerError('ELT_BAD_MODEL', [
      `its graph ends in a Sigmoid, so "${names.output}" holds probabilities, but a multi-label (sigmoid) model's output is one logit per label: the runtime applies the sigmoid itself. Export the model without its final sigmoid`,
    ]);
  r.step(
    `imported ONNX opset ${opset}${imported.producer ? ` from ${imported.producer}` : ''}: input "${names.input}" [batch, ${imported.inputShape.join(', ')}], output "${names.output}" (${output}), ${net.layers.length - 1} TF.js layers`,
  );
  const outShape = net.outputs[0]!.shape;
  if (outShape[1] !== options.labels.length) {
    throw new TrainerError('ELT_BAD_MODEL', [
      `its output is [batch, ${outShape[1]}] but there are ${options.labels.length} labels`,
    ]);
  }
  // input.shape is one example as the app passes it, channels last (the runtime moves the channels first for an
  // NCHW model, and examples come back that way); the ONNX input of an image model is [C, H, W].
  const layout = options.input.layout ?? (imported.inputShape.length === 3 ? 'nchw' : 'nhwc');
  const s = imported.inputShape;
  const input: InputSpec = {
    ...options.input,
    layout,
    shape: layout === 'nchw' && s.length >= 2 ? [...s.slice(1), s[0]!] : [...s],
  };
  const metrics: Record<string, number> = {};
  // A multi-label model's golden examples carry label sets (`labels`).
  const multiLabel = output === 'sigmoid';
  const golden = options.golden?.length
    ? decodeExamples(
        options.golden.map((e) => ({ ...e, split: 'golden' as const })),
        options.labels,
        input,
        { multiLabel },
      ).bySplit.golden
    : undefined;
  let parity: number;
  try {
    parity = (
      await checkParity(net, options.onnx, {
        names,
        ...(golden?.count ? { inputs: golden.x, count: Math.min(golden.count, 200) } : {}),
      })
    ).maxAbsDiff;
  } catch (e) {
    if (!isTrainerError(e, 'ELT_PARITY_FAILED')) throw e;
    throw new TrainerError('ELT_IMPORT_PARITY_FAILED', [e.message.replace(/^[^:]*: /, '')], { cause: e });
  }
  metrics['import.parity.maxAbsDiff'] = parity;
  r.step(
    `parity with onnxruntime-web on ${golden?.count ? `${Math.min(golden.count, 200)} golden inputs` : '100 noise inputs'}: max abs diff ${parity.toExponential(2)}`,
  );
  if (golden?.count) {
    if (multiLabel) {
      const e = await evaluateMultiLabel(net, golden);
      metrics['golden.microF1'] = e.microF1;
      metrics['golden.exactMatch'] = e.exactMatch;
    } else metrics['golden.accuracy'] = (await evaluateModel(net, golden)).accuracy;
    if (!(await client.golden(model))) {
      r.step(`uploading the golden set (${options.golden!.length} examples)`);
      await client.putGolden(
        model,
        options.golden!.map((e) => ({ ...e, split: 'golden' as const })),
      );
    }
  }
  // The user's own ONNX bytes are what the app ran before: they are served as they are, beside the TF.js twin.
  const layers = (await exportModel(net, undefined, { onnx: false })).files;
  net.dispose();
  const trainableTail = options.trainableTail ?? 1;
  const outputSpec: OutputSpec = { kind: output };
  const version = await publishVersion(
    client,
    model,
    {
      parent: null,
      batches: [],
      metrics,
      labels: options.labels,
      input,
      output: outputSpec,
      policy: options.policy ?? DEFAULT_POLICY,
      trainer: { kind: 'register', source: 'onnx', baseData: null, trainableTail, onnx: { ...names, opset } },
      codeVersion: codeVersion(),
    },
    [{ name: ONNX_FILE, format: 'onnx', bytes: options.onnx }, ...layers],
  );
  await makeStable(client, model, version, `trainer: registered a user ONNX model as "${model}"`);
  r.step(`registered ${version} of "${model}" (retraining fine-tunes the last ${trainableTail} weighted layer(s))`);
  return { version, onnx: true, metrics, names, output, opset, parity };
}
