/**
 * ModelLineage: what the trainer needs to know about a model on the collector — its stable version and that
 * version's files as a TF.js model, the batches earlier versions trained on, and where its base data came from.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Batch, Version } from '@edgeloop/protocol';
import type { CollectorClient } from '../collector/client.js';
import { TrainerError } from '../errors.js';
import type { OnnxNames } from '../export/onnx.js';
import { loadLayers } from '../export/tfjs-layers.js';
import { withSoftmaxHead } from '../model/softmax-head.js';

/** The trainer config stored in a version's meta (`meta.trainer`), as this trainer writes it. */
export interface TrainerConfig {
  /** Where the base training data came from: 'mnist:train' for bootstrapped digits, null for a user's model. */
  baseData?: string | null;
  /** Train only the last N weighted layers when fine-tuning (a user's model: its head). Absent: all layers. */
  trainableTail?: number;
  /** An imported ONNX model's input and output names, which every export keeps. Absent: "input" and "output". */
  onnx?: OnnxNames & { opset?: number };
  [key: string]: unknown;
}

export interface StableModel {
  version: Version;
  config: TrainerConfig;
  /**
   * Loads a fresh TF.js instance of the version (call twice for two independent models). A logits model comes with
   * a softmax appended, so that training, the gate and calibration see probabilities (exports drop it again).
   */
  load(): Promise<tf.LayersModel>;
}

/** The stable version of `model`; throws ELT_NO_STABLE_VERSION when there is none. */
export async function stableModel(client: CollectorClient, model: string): Promise<StableModel> {
  const rollout = await client.rollout(model);
  if (!rollout?.stable) throw new TrainerError('ELT_NO_STABLE_VERSION', [model, model]);
  return storedModel(client, model, rollout.stable);
}

/** A stored version of `model` with a loader for its TF.js Layers artifacts. */
export async function storedModel(client: CollectorClient, model: string, name: string): Promise<StableModel> {
  const version = await client.version(model, name);
  const layers = version.artifacts.filter((a) => a.format === 'tfjs-layers');
  const json = layers.find((a) => a.name.endsWith('.json'));
  if (!json)
    throw new TrainerError('ELT_BAD_MODEL', [
      `version "${name}" of "${model}" has no TF.js Layers model.json artifact`,
    ]);
  let files: Map<string, Uint8Array> | undefined;
  const fetchAll = async () => {
    files ??= new Map(await Promise.all(layers.map(async (a) => [a.name, await client.artifact(a.sha256)] as const)));
    return files;
  };
  return {
    version,
    config: version.meta.trainer as TrainerConfig,
    async load() {
      const all = await fetchAll();
      const net = await loadLayers({ modelJson: all.get(json.name)!, files: all });
      return version.meta.output?.kind === 'logits' ? withSoftmaxHead(net) : net;
    },
  };
}

/** The ONNX names an export of a version keeps (undefined: the exporter's "input" and "output"). */
export function onnxNames(config: TrainerConfig): OnnxNames | undefined {
  const n = config.onnx;
  return n && typeof n.input === 'string' && typeof n.output === 'string'
    ? { input: n.input, output: n.output }
    : undefined;
}

/** Batches of `model` no version has trained on yet and not in `exclude`, oldest first. */
export function untrainedBatches(
  batches: readonly Batch[],
  versions: readonly Version[],
  exclude: ReadonlySet<string> = new Set(),
): Batch[] {
  const used = new Set(versions.flatMap((v) => v.meta.batches));
  return batches.filter((b) => !b.golden && !used.has(b.id) && !exclude.has(b.id));
}

/** Batches some version of `model` has trained on (the replay pool). */
export function trainedBatches(batches: readonly Batch[], versions: readonly Version[]): Batch[] {
  const used = new Set(versions.flatMap((v) => v.meta.batches));
  return batches.filter((b) => used.has(b.id));
}
