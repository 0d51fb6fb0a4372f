/** One interface for every inference engine, in the manner of onnxruntime's `Backend` / `SessionHandler`. */
import type { ArtifactFormat } from '@edgeloop/protocol';

export type EngineName = 'ort-webgpu' | 'ort-wasm' | 'tfjs-webgpu' | 'tfjs-wasm' | 'tfjs-cpu';

/** The bytes of one model version, by artifact name, for the engine's format. */
export interface ModelFiles {
  format: ArtifactFormat;
  files: Map<string, ArrayBuffer>;
}

export interface EngineContext {
  wasmPaths?: { ort?: string; tfjs?: string };
}

/** A loaded model on one engine: runs one example at a time. */
export interface EngineSession {
  /**
   * Runs one example `[1, ...shape]` and hands the first output's values to `ok`, or the engine's error to
   * `fail`, in the run's own continuation (no promise hop of its own): the promise settles with what `ok`
   * returns (or throws), or rejects with what `fail` returns. Runs go one at a time, in call order.
   */
  run<R>(input: Float32Array, shape: readonly number[], ok: (out: Float32Array) => R, fail: (err: unknown) => unknown): Promise<R>;
  /** Frees the model's memory (WASM heap, GPU buffers). */
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
