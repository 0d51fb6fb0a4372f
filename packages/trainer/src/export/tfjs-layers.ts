/**
 * TF.js Layers artifacts as bytes: `model.json` (topology + weights manifest) and one `weights.bin`, the pair the
 * runtime's tfjs engine loads and the collector stores content-addressed.
 */
import * as tf from '@tensorflow/tfjs';
import { TrainerError } from '../errors.js';

/** The file names inside a TF.js Layers artifact set; the collector keeps them as artifact names. */
export const LAYERS_JSON = 'model.json';
export const LAYERS_WEIGHTS = 'weights.bin';

export interface LayersArtifacts {
  modelJson: Uint8Array;
  weights: Uint8Array;
}

/** Serialises a Layers model to `model.json` + `weights.bin` bytes (no optimizer state, no training config). */
export async function saveLayers(model: tf.LayersModel): Promise<LayersArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  if (!saved?.modelTopology || !saved.weightSpecs || saved.weightData === undefined) {
    throw new TrainerError('ELT_BAD_MODEL', ['TF.js returned no topology or weights when saving']);
  }
  const json = {
    format: 'layers-model',
    generatedBy: saved.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: null,
    modelTopology: saved.modelTopology,
    weightsManifest: [{ paths: [LAYERS_WEIGHTS], weights: saved.weightSpecs }],
  };
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(saved.weightData));
  return { modelJson: new TextEncoder().encode(JSON.stringify(json)), weights };
}

/**
 * Loads a Layers model from `model.json` bytes and its weight files: `weights` for the single file saveLayers
 * writes, or `files` by name for a model with several shards (concatenated in the manifest's order).
 */
export async function loadLayers(artifacts: {
  modelJson: Uint8Array;
  weights?: Uint8Array;
  files?: ReadonlyMap<string, Uint8Array>;
}): Promise<tf.LayersModel> {
  let json: { modelTopology?: unknown; weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  try {
    json = JSON.parse(new TextDecoder().decode(artifacts.modelJson)) as typeof json;
  } catch (e) {
    throw new TrainerError('ELT_BAD_MODEL', ['model.json is not JSON'], { cause: e });
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new TrainerError('ELT_BAD_MODEL', [
      'model.json has no modelTopology or weightsManifest (is it a TF.js Layers model?)',
    ]);
  }
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const parts = json.weightsManifest
    .flatMap((g) => g.paths)
    .map((path) => {
      const name = path.split('/').pop()!;
      const bytes = artifacts.files?.get(name) ?? artifacts.files?.get(path) ?? artifacts.weights;
      if (!bytes) throw new TrainerError('ELT_BAD_MODEL', [`weights file "${path}" named in model.json is missing`]);
      return bytes;
    });
  const weightData = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    weightData.set(p, at);
    at += p.byteLength;
  }
  try {
    return await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: json.modelTopology as object, weightSpecs, weightData: weightData.buffer }),
    );
  } catch (e) {
    throw new TrainerError('ELT_BAD_MODEL', [`TF.js could not load it: ${(e as Error).message}`], { cause: e });
  }
}
