/**
 * The built-in engines, by priority. Only these descriptors load with the runtime; an engine's adapter and its
 * library are imported the first time it is used, so an app pays only for the engines it runs.
 */
import type { Engine } from './types.js';

const wasm = () => Promise.resolve(typeof WebAssembly === 'object' ? null : 'no WebAssembly');
const gpu = () => import('./gpu.js').then((m) => m.gpuUnavailable());

/** onnxruntime-web on its WebGPU execution provider. */
export const ortWebgpu: Engine = {
  name: 'ort-webgpu',
  priority: 100,
  format: 'onnx',
  unavailable: gpu,
  load: (m, c) => import('./ort.js').then((o) => o.loadOrt('webgpu', m, c)),
};
/** onnxruntime-web on its WebAssembly execution provider. */
export const ortWasm: Engine = {
  name: 'ort-wasm',
  priority: 90,
  format: 'onnx',
  unavailable: wasm,
  load: (m, c) => import('./ort.js').then((o) => o.loadOrt('wasm', m, c)),
};
/** TensorFlow.js on its WebGPU backend. */
export const tfjsWebgpu: Engine = {
  name: 'tfjs-webgpu',
  priority: 80,
  format: 'tfjs-layers',
  unavailable: gpu,
  load: (m, c) => import('./tfjs.js').then((t) => t.loadTfjs('webgpu', m, c)),
};
/** TensorFlow.js on its WebAssembly backend. */
export const tfjsWasm: Engine = {
  name: 'tfjs-wasm',
  priority: 70,
  format: 'tfjs-layers',
  unavailable: wasm,
  load: (m, c) => import('./tfjs.js').then((t) => t.loadTfjs('wasm', m, c)),
};
/** TensorFlow.js on plain JavaScript (always available, slowest). */
export const tfjsCpu: Engine = {
  name: 'tfjs-cpu',
  priority: 10,
  format: 'tfjs-layers',
  unavailable: () => Promise.resolve(null),
  load: (m, c) => import('./tfjs.js').then((t) => t.loadTfjs('cpu', m, c)),
};
