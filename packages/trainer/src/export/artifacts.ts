/**
 * ModelArtifacts: everything the runtime can load for one version — TF.js Layers files and ONNX — exported together
 * and parity-checked, with the names the collector stores them under.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ArtifactFormat } from '@edgeloop/protocol';
import { checkParity, type ParityResult } from './parity.js';
import { exportOnnx, ONNX_FILE } from './onnx.js';
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
 * `onnx: false` exports TF.js Layers only (a user's model with layers the ONNX exporter does not know).
 */
export async function exportModel(model: tf.LayersModel, parityInputs?: Float32Array, options: { onnx?: boolean } = {}): Promise<ExportedModel> {
  const layers = await saveLayers(model);
  const files: ArtifactFile[] = [
    { name: LAYERS_JSON, format: 'tfjs-layers', bytes: layers.modelJson },
    { name: LAYERS_WEIGHTS, format: 'tfjs-layers', bytes: layers.weights },
  ];
  if (options.onnx === false) return { files, parity: null };
  const onnx = await exportOnnx(model);
  const parity = await checkParity(model, onnx, parityInputs ? { inputs: parityInputs } : {});
  return { files: [{ name: ONNX_FILE, format: 'onnx', bytes: onnx }, ...files], parity };
}
