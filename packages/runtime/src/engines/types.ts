/** One interface for every inference engine, in the manner of onnxruntime's `InferenceSession`. */
import type { ArtifactFormat } from '@edgeloop/protocol';

/**
 * An engine's name: any string, so an app's own engine needs no cast. The built-in names are listed so editors
 * offer them (`string & {}` keeps the union from collapsing into plain `string`).
 */
export type EngineName = 'ort-webgpu' | 'ort-wasm' | 'tfjs-webgpu' | 'tfjs-wasm' | 'tfjs-cpu' | (string & {});

/** The bytes of one model version, by artifact name, for the engine's format. */
export interface ModelFiles {
  format: ArtifactFormat;
  files: Map<string, ArrayBuffer>;
}

export interface EngineContext {
  wasmPaths?: { ort?: string; tfjs?: string };
  /**
   * The input the runtime will feed (one example, no batch dimension, after layout and normalisation): an engine
   * may check its model against it at load and throw `EL_RT_BAD_INPUT` naming both shapes.
   */
  input?: { shape: readonly number[]; dtype: 'float32' | 'uint8' };
}

/** A loaded model on one engine, shaped like onnxruntime's `InferenceSession`: `run` and `release`. */
export interface EngineSession {
  /**
   * Runs one example `[1, ...shape]`; resolves with the first output's values, or rejects with the engine's
   * error. Overlapping calls are the session's to order: they run one at a time, in call order. The input is
   * read until the promise settles; the output belongs to the caller.
   */
  run(input: Float32Array, shape: readonly number[]): Promise<Float32Array>;
  /** Waits for the runs under way, then frees the model's memory (WASM heap, GPU buffers); later runs reject. */
  release(): Promise<void>;
}

export interface Engine {
  name: EngineName;
  /** Higher is tried first when several can run. */
  priority: number;
  format: ArtifactFormat;
  /** Why this engine cannot run here, or `null` if it can (checked before the library is loaded). */
  unavailable(): Promise<string | null>;
  load(model: ModelFiles, ctx: EngineContext): Promise<EngineSession>;
}
