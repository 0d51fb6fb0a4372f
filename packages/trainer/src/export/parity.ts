/**
 * ParityCheck: runs the exported ONNX model in onnxruntime-web (WASM backend, in Node) and the TF.js model on the
 * same inputs; an export whose outputs differ by more than the tolerance is refused.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-web';
import { exampleSize, mulberry32 } from '../data/examples.js';
import { TrainerError } from '../errors.js';
import { DEFAULT_NAMES, type OnnxNames } from './onnx.js';

export interface ParityOptions {
  /** Inputs to compare on, `count × exampleSize` values; seeded uniform [0, 1) noise when absent. */
  inputs?: Float32Array;
  count?: number;
  tolerance?: number;
  /** The ONNX model's input and output names (default "input" and "output"). */
  names?: OnnxNames;
}

export interface ParityResult {
  count: number;
  maxAbsDiff: number;
  tolerance: number;
}

/** Compares TF.js and ONNX outputs on `count` inputs (default 100) and throws ELT_PARITY_FAILED past `tolerance` (1e-4). */
export async function checkParity(
  model: tf.LayersModel,
  onnxBytes: Uint8Array,
  options: ParityOptions = {},
): Promise<ParityResult> {
  const shape = model.inputs[0]!.shape.slice(1).map((d) => d ?? 1);
  const size = exampleSize(shape);
  const count = options.count ?? 100;
  const tolerance = options.tolerance ?? 1e-4;
  let inputs = options.inputs?.subarray(0, count * size);
  if (!inputs || inputs.length < count * size) {
    const rand = mulberry32(1234);
    inputs = Float32Array.from({ length: count * size }, () => rand());
  }
  const x = tf.tensor(inputs, [count, ...shape]);
  const y = model.predict(x) as tf.Tensor;
  const expected = (await y.data()) as Float32Array;
  tf.dispose([x, y]);
  const actual = await runOnnx(onnxBytes, inputs, [count, ...shape], options.names);
  if (actual.length !== expected.length) {
    throw new TrainerError('ELT_PARITY_FAILED', [
      `output sizes differ: ONNX ${actual.length}, TF.js ${expected.length}`,
    ]);
  }
  let maxAbsDiff = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    // NaN compares false: count it as an infinite difference.
    maxAbsDiff = Math.max(maxAbsDiff, Number.isNaN(d) ? Infinity : d);
  }
  if (!(maxAbsDiff <= tolerance)) {
    throw new TrainerError('ELT_PARITY_FAILED', [
      `max |ONNX − TF.js| = ${maxAbsDiff.toExponential(3)} over ${count} inputs, above ${tolerance}`,
    ]);
  }
  return { count, maxAbsDiff, tolerance };
}

/** Runs an ONNX model on one float input with onnxruntime-web's WASM backend and returns the output values. */
export async function runOnnx(
  onnxBytes: Uint8Array,
  data: Float32Array,
  dims: number[],
  names: OnnxNames = DEFAULT_NAMES,
): Promise<Float32Array> {
  // One thread: no worker threads to spawn (and leave running) in a CLI process on a small machine.
  ort.env.wasm.numThreads = 1;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(onnxBytes, { executionProviders: ['wasm'] });
  } catch (e) {
    throw new TrainerError('ELT_PARITY_FAILED', [`onnxruntime-web could not load the model: ${(e as Error).message}`], {
      cause: e,
    });
  }
  try {
    const out = await session.run({ [names.input]: new ort.Tensor('float32', data, dims) });
    const y = out[names.output];
    if (!y)
      throw new TrainerError('ELT_PARITY_FAILED', [
        `the ONNX model has no output "${names.output}" (it has ${session.outputNames.join(', ')})`,
      ]);
    return y.data as Float32Array;
  } finally {
    await session.release();
  }
}
