/** onnxruntime-web sessions (this module and ORT itself load only when an ORT engine is first used). */
import type { InferenceSession, Tensor } from 'onnxruntime-web';
import type { EngineContext, EngineSession, ModelFiles } from './types.js';
import { Turns } from './serial.js';
import { importLibrary } from './library.js';
import { checkDeclaredInput } from './shape.js';
import { RuntimeError } from '../errors.js';

type Ort = typeof import('onnxruntime-web');
/** What InferenceSession.run() calls: `handler.run(feeds, fetches, options)` (onnxruntime-common, marked @ignore). */
export interface OrtHandler {
  run(
    feeds: Record<string, Tensor>,
    fetches: Record<string, Tensor | null>,
    options: InferenceSession.RunOptions,
  ): Promise<Record<string, Tensor>>;
}
/**
 * How a run reaches ORT: `session` is the public `InferenceSession.run`; `handler` goes to the session's
 * handler, what `run` calls after checking its arguments and copying its result map on every call. The runtime
 * takes the handler because through `run` it misses its overhead target (BENCHMARKS.md, runtime, measures both);
 * `engines.test.ts` fails if an onnxruntime-web release stops taking that path.
 */
export type OrtPath = 'session' | 'handler';
const NO_OPTIONS: InferenceSession.RunOptions = {};

function onnxBytes(model: ModelFiles): Uint8Array {
  const [first] = [...model.files.values()];
  if (!first || model.format !== 'onnx') throw new Error('no ONNX artifact in this version');
  return new Uint8Array(first);
}

/** The session's handler, if this build of onnxruntime-web has the one `InferenceSession.run` calls. */
export function ortHandler(session: InferenceSession): OrtHandler | null {
  const handler = (session as unknown as { handler?: OrtHandler }).handler;
  return typeof handler?.run === 'function' ? handler : null;
}

/** The element type of the session's first input, when the build of onnxruntime-web says (1.21+). */
function inputType(session: InferenceSession): { type: string; shape: readonly (number | string)[] } | null {
  const meta = (session as { inputMetadata?: readonly InferenceSession.ValueMetadata[] }).inputMetadata?.[0];
  return meta?.isTensor ? { type: meta.type, shape: meta.shape } : null;
}

/** Wraps an ORT session; runs go one at a time. */
function wrap(ort: Ort, session: InferenceSession, path: OrtPath): EngineSession {
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  // A uint8 input (an image model that takes bytes) is fed bytes: the runtime's float values, rounded and clamped.
  const uint8 = inputType(session)?.type === 'uint8';
  // One input tensor per session, over a staging buffer, made again only when the shape changes: no Tensor is
  // built per prediction. ORT copies a CPU input into the WASM heap inside run() itself, before its first await,
  // and runs go one at a time, so the buffer can be refilled by the next run.
  let dimsOf: readonly number[] | null = null;
  let staging = new Float32Array(0);
  let bytes = new Uint8ClampedArray(0);
  const feeds: Record<string, Tensor> = {};
  const fetches = { [outputName]: null };
  const handler = path === 'handler' ? ortHandler(session) : null;
  // The feeds and fetches are built once and valid: the handler path skips run()'s checks of them.
  const infer = handler ? () => handler.run(feeds, fetches, NO_OPTIONS) : () => session.run(feeds, fetches);
  const turns = new Turns();
  return {
    async run(input, shape) {
      const wait = turns.enter();
      if (wait) await wait;
      try {
        if (shape !== dimsOf || input.length !== (uint8 ? bytes.length : staging.length)) {
          dimsOf = shape;
          if (uint8) {
            const data = new Uint8Array(input.length);
            bytes = new Uint8ClampedArray(data.buffer);
            feeds[inputName] = new ort.Tensor('uint8', data, [1, ...shape]);
          } else {
            staging = new Float32Array(input.length);
            feeds[inputName] = new ort.Tensor('float32', staging, [1, ...shape]);
          }
        }
        // A clamped view: values are rounded and kept in [0, 255].
        if (uint8) bytes.set(input);
        else staging.set(input);
        const tensor = (await infer())[outputName]!;
        // A CPU tensor's data is there already; others are downloaded.
        const data = (tensor.location === 'cpu' ? tensor.data : await tensor.getData()) as Float32Array;
        tensor.dispose();
        return data;
      } finally {
        turns.leave();
      }
    },
    release: () => turns.close(() => session.release()),
  };
}

const libs = new Map<'webgpu' | 'wasm', Promise<Ort>>();

/** Loads an ONNX model on onnxruntime-web's WebGPU or WASM execution provider. */
export async function loadOrt(
  ep: 'webgpu' | 'wasm',
  model: ModelFiles,
  ctx: EngineContext,
  path: OrtPath = 'handler',
): Promise<EngineSession> {
  let lib = libs.get(ep);
  if (!lib) {
    // Each provider has its own ORT build: an app that runs only WASM never downloads the WebGPU one.
    lib = importLibrary('onnxruntime-web', () =>
      ep === 'webgpu' ? import('onnxruntime-web/webgpu') : import('onnxruntime-web/wasm'),
    ).then((ort: Ort) => {
      if (ctx.wasmPaths?.ort) ort.env.wasm.wasmPaths = ctx.wasmPaths.ort;
      return ort;
    });
    libs.set(ep, lib);
  }
  const ort = await lib;
  const session = await ort.InferenceSession.create(onnxBytes(model), {
    executionProviders: [ep],
    graphOptimizationLevel: 'all',
  });
  try {
    const declared = inputType(session);
    if (declared && declared.type !== 'float32' && declared.type !== 'uint8') {
      throw new RuntimeError(
        'EL_RT_BAD_INPUT',
        `the model's input "${session.inputNames[0]}" is ${declared.type}: the runtime feeds float32 or uint8`,
      );
    }
    checkDeclaredInput(session.inputNames[0]!, declared?.shape, ctx.input?.shape);
  } catch (err) {
    await session.release().catch(() => undefined);
    throw err;
  }
  return wrap(ort, session, path);
}
