/**
 * onnxruntime-web engines. Each imports its own ORT build lazily, so an app that only runs WASM never
 * downloads the WebGPU build (and the other way round).
 */
import type { InferenceSession, Tensor } from 'onnxruntime-web';
import type { Engine, EngineContext, EngineSession, ModelFiles } from './types.js';
import { gpuUnavailable } from './gpu.js';

type Ort = typeof import('onnxruntime-web');

function onnxBytes(model: ModelFiles): Uint8Array {
  const [first] = [...model.files.values()];
  if (!first || model.format !== 'onnx') throw new Error('no ONNX artifact in this version');
  return new Uint8Array(first);
}

/** Wraps an ORT session: runs are queued because one session must not run twice at once. */
function wrap(ort: Ort, session: InferenceSession): EngineSession {
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  let queue: Promise<unknown> = Promise.resolve();
  let released = false;
  return {
    run(input, shape) {
      const result = queue.then(async () => {
        if (released) throw new Error('session released');
        const feeds: Record<string, Tensor> = { [inputName]: new ort.Tensor('float32', input, [1, ...shape]) };
        const out = await session.run(feeds);
        const tensor = out[outputName]!;
        const data = (await tensor.getData()) as Float32Array;
        tensor.dispose();
        return data;
      });
      queue = result.catch(() => undefined);
      return result;
    },
    async release() {
      await queue;
      released = true;
      await session.release();
    },
  };
}

function ortEngine(name: 'ort-webgpu' | 'ort-wasm', priority: number): Engine {
  const ep = name === 'ort-webgpu' ? 'webgpu' : 'wasm';
  let lib: Promise<Ort> | undefined;
  const importOrt = (ctx: EngineContext): Promise<Ort> =>
    (lib ??= (ep === 'webgpu' ? import('onnxruntime-web/webgpu') : import('onnxruntime-web/wasm')).then((ort: Ort) => {
      if (ctx.wasmPaths?.ort) ort.env.wasm.wasmPaths = ctx.wasmPaths.ort;
      return ort;
    }));
  return {
    name,
    priority,
    format: 'onnx',
    unavailable: () => (ep === 'webgpu' ? gpuUnavailable() : Promise.resolve(typeof WebAssembly === 'object' ? null : 'no WebAssembly')),
    async load(model, ctx) {
      const ort = await importOrt(ctx);
      const session = await ort.InferenceSession.create(onnxBytes(model), { executionProviders: [ep], graphOptimizationLevel: 'all' });
      return wrap(ort, session);
    },
  };
}

/** onnxruntime-web on its WebGPU execution provider. */
export const ortWebgpu = ortEngine('ort-webgpu', 100);
/** onnxruntime-web on its WebAssembly execution provider. */
export const ortWasm = ortEngine('ort-wasm', 90);
