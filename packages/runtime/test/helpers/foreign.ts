/**
 * Models this project did not make: small PyTorch classifiers exported to ONNX by foreign_models.py (Debian's
 * python3-torch and python3-onnx), with channels-first inputs, logits, a multi-label sigmoid head, uint8 input,
 * Gemm and MatMul heads, opsets 8, 13 and 17. Made once per script hash under .test-build/. Also what
 * onnxruntime-web answers for them in Node, the reference the runtime in Chromium must equal.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import type { InputSpec, OutputSpec } from '@edgeloop/protocol';
import { BUILD_ROOT } from './build.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'foreign_models.py');
export const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';

export interface ForeignCase {
  name: string;
  onnx: Buffer;
  opset: number;
  ops: string[];
  labels: string[];
  input: InputSpec;
  output?: OutputSpec;
  /** What the app passes: one example per row, channels last. */
  raw: number[][];
  /** What the model must receive for each row (NumPy's layout and normalisation, not the runtime's). */
  model: number[][];
  modelShape: number[];
  modelDtype: 'float32' | 'uint8';
}

let cached: ForeignCase[] | undefined;

/** The cases, made by PyTorch on the first call; a missing PyTorch fails with the command that installs it. */
export function foreignModels(): ForeignCase[] {
  if (cached) return cached;
  const hash = createHash('sha256').update(readFileSync(SCRIPT)).digest('hex').slice(0, 12);
  const dir = join(BUILD_ROOT, `foreign-${hash}`);
  if (!existsSync(join(dir, 'cases.json'))) {
    mkdirSync(BUILD_ROOT, { recursive: true });
    const r = spawnSync(PYTHON, [SCRIPT, dir], { encoding: 'utf8' });
    if (r.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(
        `${PYTHON} ${SCRIPT} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr.slice(-1500)}\n` +
          'Install PyTorch and ONNX for Python: apt-get install -y python3-torch python3-onnx (or set PYTHON)',
      );
    }
    for (const old of readdirSync(BUILD_ROOT).filter((n) => n.startsWith('foreign-') && n !== `foreign-${hash}`))
      rmSync(join(BUILD_ROOT, old), { recursive: true, force: true });
  }
  const { cases } = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as {
    cases: Record<string, Omit<ForeignCase, 'name' | 'onnx'>>;
  };
  cached = Object.entries(cases).map(([name, c]) => ({ ...c, name, onnx: readFileSync(join(dir, `${name}.onnx`)) }));
  return cached;
}

/** onnxruntime-web (WASM) in Node: the model's first output for each row of `c.model`, one example at a time. */
export async function ortInNode(
  onnx: Uint8Array,
  c: Pick<ForeignCase, 'model' | 'modelShape' | 'modelDtype'>,
): Promise<Float32Array[]> {
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(onnx, { executionProviders: ['wasm'] });
  try {
    const out: Float32Array[] = [];
    for (const row of c.model) {
      const data = c.modelDtype === 'uint8' ? Uint8Array.from(row) : Float32Array.from(row);
      const tensor = new ort.Tensor(c.modelDtype, data, [1, ...c.modelShape]);
      const result = await session.run({ [session.inputNames[0]!]: tensor });
      out.push(Float32Array.from(result[session.outputNames[0]!]!.data as Float32Array));
    }
    return out;
  } finally {
    await session.release();
  }
}

/** What the runtime must score from a raw output, per the version's output spec (written out here, not imported). */
export function referenceProbabilities(raw: Float32Array, output: OutputSpec | undefined): number[] {
  const t = output?.temperature ?? 1;
  const z = [...raw];
  if (output?.kind === 'sigmoid') return z.map((v) => 1 / (1 + Math.exp(-v / t)));
  const logits = output?.kind === 'logits' ? z : z.map((p) => Math.log(Math.max(p, 1e-30)));
  if (output?.kind !== 'logits' && t === 1) return z;
  const m = Math.max(...logits.map((v) => v / t));
  const e = logits.map((v) => Math.exp(v / t - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/**
 * A TF.js Layers model that takes channels-first input (`[C, H, W]`, flattened into a dense layer of logits), as a
 * TF.js export of a PyTorch model would: its artifacts, and what TF.js in Node answers for each row of `model`.
 */
export async function tfjsChannelsFirst(
  c: Pick<ForeignCase, 'model' | 'modelShape' | 'labels'>,
): Promise<{ files: { format: 'tfjs-layers'; name: string; bytes: Uint8Array }[]; outputs: Float32Array[] }> {
  const tf = await import('@tensorflow/tfjs');
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: c.modelShape }),
      tf.layers.dense({
        units: c.labels.length,
        kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.1, seed: 7 }),
        biasInitializer: 'zeros',
      }),
    ],
  });
  let saved: import('@tensorflow/tfjs').io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const weightData = saved!.weightData as ArrayBuffer;
  const json = {
    format: 'layers-model',
    generatedBy: 'edgeloop runtime test',
    convertedBy: null,
    modelTopology: saved!.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: saved!.weightSpecs }],
  };
  const x = tf.tensor(c.model.flat(), [c.model.length, ...c.modelShape]);
  const y = model.predict(x) as import('@tensorflow/tfjs').Tensor;
  const flat = (await y.data()) as Float32Array;
  tf.dispose([x, y]);
  model.dispose();
  const n = c.labels.length;
  return {
    files: [
      { format: 'tfjs-layers', name: 'model.json', bytes: new TextEncoder().encode(JSON.stringify(json)) },
      { format: 'tfjs-layers', name: 'weights.bin', bytes: new Uint8Array(weightData) },
    ],
    outputs: c.model.map((_, i) => flat.slice(i * n, (i + 1) * n)),
  };
}
