/**
 * TensorFlow.js sessions for TF.js Layers models (this module and TF.js load only when a TF.js engine is first
 * used). TF.js has one active backend per page or worker, so a session switches back to its own backend before
 * it runs if another one was made active meanwhile.
 */
import type { EngineContext, EngineSession, ModelFiles } from './types.js';
import { Turns } from './serial.js';
import { importLibrary } from './library.js';
import { checkDeclaredInput } from './shape.js';

type Tf = typeof import('@tensorflow/tfjs-core');
type TfLayers = typeof import('@tensorflow/tfjs-layers');
export type Backend = 'webgpu' | 'wasm' | 'cpu';

interface WeightsGroup {
  paths: string[];
  weights: { name: string; shape: number[]; dtype: 'float32' | 'int32' | 'bool' | 'string' | 'complex64' }[];
}

let libs: Promise<{ tf: Tf; layers: TfLayers }> | undefined;
const backends = new Map<Backend, Promise<void>>();

function importTf(): Promise<{ tf: Tf; layers: TfLayers }> {
  return (libs ??= Promise.all([
    importLibrary('@tensorflow/tfjs-core', () => import('@tensorflow/tfjs-core')),
    importLibrary('@tensorflow/tfjs-layers', () => import('@tensorflow/tfjs-layers')),
  ]).then(([tf, layers]) => {
    // Production mode drops TF.js's per-op NaN checks and debug bookkeeping.
    tf.enableProdMode();
    return { tf, layers };
  }));
}

function importBackend(backend: Backend, ctx: EngineContext): Promise<void> {
  let ready = backends.get(backend);
  if (!ready) {
    ready = (async () => {
      if (backend === 'cpu')
        await importLibrary('@tensorflow/tfjs-backend-cpu', () => import('@tensorflow/tfjs-backend-cpu'));
      else if (backend === 'webgpu')
        await importLibrary('@tensorflow/tfjs-backend-webgpu', () => import('@tensorflow/tfjs-backend-webgpu'));
      else {
        const wasm = await importLibrary(
          '@tensorflow/tfjs-backend-wasm',
          () => import('@tensorflow/tfjs-backend-wasm'),
        );
        if (ctx.wasmPaths?.tfjs) wasm.setWasmPaths(ctx.wasmPaths.tfjs);
      }
    })();
    backends.set(backend, ready);
  }
  return ready;
}

async function activate(tf: Tf, backend: Backend): Promise<void> {
  if (tf.getBackend() !== backend && !(await tf.setBackend(backend)))
    throw new Error(`TF.js backend "${backend}" failed to initialise`);
  await tf.ready();
}

/** Builds TF.js model artifacts from `model.json` and its weight shards, all already in memory. */
function artifactsOf(model: ModelFiles) {
  if (model.format !== 'tfjs-layers') throw new Error('no TF.js Layers artifact in this version');
  const jsonName = [...model.files.keys()].find((n) => n.endsWith('.json'));
  if (!jsonName) throw new Error('the TF.js Layers artifacts have no model.json');
  const json = JSON.parse(new TextDecoder().decode(model.files.get(jsonName))) as {
    modelTopology: object;
    weightsManifest: WeightsGroup[];
  };
  const shards: ArrayBuffer[] = [];
  for (const group of json.weightsManifest) {
    for (const path of group.paths) {
      const name = path.split('/').pop()!;
      const bytes = model.files.get(name);
      if (!bytes) throw new Error(`weight shard "${name}" is not among the artifacts`);
      shards.push(bytes);
    }
  }
  const total = shards.reduce((n, b) => n + b.byteLength, 0);
  const weightData = new Uint8Array(total);
  let at = 0;
  for (const b of shards) {
    weightData.set(new Uint8Array(b), at);
    at += b.byteLength;
  }
  return {
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: weightData.buffer,
  };
}

/** Loads a TF.js Layers model on one TF.js backend. */
export async function loadTfjs(backend: Backend, model: ModelFiles, ctx: EngineContext): Promise<EngineSession> {
  const { tf, layers } = await importTf();
  await importBackend(backend, ctx);
  await activate(tf, backend);
  const artifacts = artifactsOf(model);
  const net = await layers.loadLayersModel({ load: async () => artifacts });
  try {
    checkDeclaredInput(net.inputs[0]?.name ?? 'input', net.inputs[0]?.shape, ctx.input?.shape);
  } catch (err) {
    net.dispose();
    throw err;
  }
  let dimsOf: readonly number[] | null = null;
  let dims: number[] = [];
  const turns = new Turns();
  return {
    async run(input, shape) {
      const wait = turns.enter();
      if (wait) await wait;
      try {
        // Another TF.js session may have made its backend active meanwhile.
        if (tf.getBackend() !== backend) await activate(tf, backend);
        if (shape !== dimsOf) {
          dimsOf = shape;
          dims = [1, ...shape];
        }
        const out = tf.tidy(() => {
          const y = net.predict(tf.tensor(input, dims, 'float32'));
          return Array.isArray(y) ? y[0]! : y;
        });
        try {
          return (await out.data()) as Float32Array;
        } finally {
          out.dispose();
        }
      } finally {
        turns.leave();
      }
    },
    release: () =>
      turns.close(() => {
        net.dispose();
      }),
  };
}
