/**
 * ModelArtifacts: everything the runtime can load for one version — TF.js Layers files and ONNX — exported together
 * and parity-checked, with the names the collector stores them under.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ArtifactFormat } from '@edgeloop/protocol';
import { withoutSoftmaxHead } from '../model/softmax-head.js';
import { checkParity, type ParityResult } from './parity.js';
import { DEFAULT_NAMES, exportOnnx, ONNX_FILE, type OnnxNames } from './onnx.js';
import { LAYERS_JSON, LAYERS_WEIGHTS, saveLayers } from './tfjs-layers.js';

/** One file of a version: its collector artifact name and format, and its bytes. */
export interface ArtifactFile {
  name: string;
  format: ArtifactFormat;
  bytes: Uint8Array;
}

export interface ExportedModel {
  files: ArtifactFile[];
  /** Null when ONNX was not exported (`onnx: false`). */
  parity: ParityResult | null;
}

/**
 * Exports `model` as TF.js Layers + ONNX and refuses the export when ONNX parity fails (see checkParity);
 * `onnx: false` exports TF.js Layers only (a user's model with layers the ONNX exporter does not know). `names` are
 * the ONNX input and output names (an imported model keeps its own). A softmax the trainer appended to a logits
 * model (see softmax-head.ts) is left out: the exported model emits logits, as the original did.
 */
export async function exportModel(
  model: tf.LayersModel,
  parityInputs?: Float32Array,
  options: { onnx?: boolean; names?: OnnxNames } = {},
): Promise<ExportedModel> {
  const net = withoutSoftmaxHead(model);
  const layers = await saveLayers(net);
  const files: ArtifactFile[] = [
    { name: LAYERS_JSON, format: 'tfjs-layers', bytes: layers.modelJson },
    { name: LAYERS_WEIGHTS, format: 'tfjs-layers', bytes: layers.weights },
  ];
  if (options.onnx === false) return { files, parity: null };
  const names = options.names ?? DEFAULT_NAMES;
  const onnx = await exportOnnx(net, undefined, names);
  const parity = await checkParity(net, onnx, { names, ...(parityInputs ? { inputs: parityInputs } : {}) });
  return { files: [{ name: ONNX_FILE, format: 'onnx', bytes: onnx }, ...files], parity };
}
