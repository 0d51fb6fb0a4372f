/** onnxruntime-web sessions (this module and ORT itself load only when an ORT engine is first used). */
import type { InferenceSession, Tensor } from 'onnxruntime-web';
import type { EngineContext, EngineSession, ModelFiles } from './types.js';
import { serial, type Fail, type Ok } from './serial.js';

type Ort = typeof import('onnxruntime-web');
/** What InferenceSession.run() calls: `handler.run(feeds, fetches, options)` (onnxruntime-common). */
export interface OrtHandler {
  run(feeds: Record<string, Tensor>, fetches: Record<string, Tensor | null>, options: InferenceSession.RunOptions): Promise<Record<string, Tensor>>;
}
const NO_OPTIONS: InferenceSession.RunOptions = {};

function onnxBytes(model: ModelFiles): Uint8Array {
  const [first] = [...model.files.values()];
  if (!first || model.format !== 'onnx') throw new Error('no ONNX artifact in this version');
  return new Uint8Array(first);
}

/** Wraps an ORT session; runs go one at a time. */
function wrap(ort: Ort, session: InferenceSession): EngineSession {
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  // One input tensor per session, over a staging buffer, made again only when the shape changes: no Tensor is
  // built per prediction. ORT copies a CPU input into the WASM heap inside run() itself, before its first await,
  // and runs go one at a time, so the buffer can be refilled by the next run.
  let dimsOf: readonly number[] | null = null;
  let staging = new Float32Array(0);
  const feeds: Record<string, Tensor> = {};
  // InferenceSession.run() checks its feeds and fetches on every call, builds the fetches, copies its handler's
  // result map into another and adds an async frame of its own. The feeds and fetches here are built once and
  // valid, so the run goes straight to the session's handler (the execution provider's SessionHandler, which
  // run() itself calls with these arguments) where this build of onnxruntime-web has one.
  const fetches = { [outputName]: null };
  const handler = (session as unknown as { handler?: OrtHandler }).handler;
  const infer = typeof handler?.run === 'function' ? () => handler.run(feeds, fetches, NO_OPTIONS) : () => session.run(feeds);
  const runs = serial(async (input: Float32Array, shape: readonly number[], ok: Ok, fail: Fail, done: () => void) => {
    let data: Float32Array;
    try {
      if (shape !== dimsOf || input.length !== staging.length) {
        dimsOf = shape;
        staging = new Float32Array(input.length);
        feeds[inputName] = new ort.Tensor('float32', staging, [1, ...shape]);
      }
      staging.set(input);
      const tensor = (await infer())[outputName]!;
      // A CPU tensor's data is there already; others are downloaded.
      data = (tensor.location === 'cpu' ? tensor.data : await tensor.getData()) as Float32Array;
      tensor.dispose();
    } catch (err) {
      done();
      throw fail(err);
    }
    done();
    return ok(data);
  });
  return { run: runs.run, release: () => runs.close(() => session.release()) };
}

const libs = new Map<'webgpu' | 'wasm', Promise<Ort>>();

/** Loads an ONNX model on onnxruntime-web's WebGPU or WASM execution provider. */
export async function loadOrt(ep: 'webgpu' | 'wasm', model: ModelFiles, ctx: EngineContext): Promise<EngineSession> {
  let lib = libs.get(ep);
  if (!lib) {
    // Each provider has its own ORT build: an app that runs only WASM never downloads the WebGPU one.
    lib = (ep === 'webgpu' ? import('onnxruntime-web/webgpu') : import('onnxruntime-web/wasm')).then((ort: Ort) => {
      if (ctx.wasmPaths?.ort) ort.env.wasm.wasmPaths = ctx.wasmPaths.ort;
      return ort;
    });
    libs.set(ep, lib);
  }
  const ort = await lib;
  const session = await ort.InferenceSession.create(onnxBytes(model), { executionProviders: [ep], graphOptimizationLevel: 'all' });
  return wrap(ort, session);
}
