// An engine an app brings as a module (`engineModules`): onnxruntime-web's WASM provider through the runtime's own
// adapter, under another name. Built to /engine.js; the runtime imports it on the page or in its worker.
import { loadOrt } from '@edgeloop/runtime/internal';
import type { Engine } from '@edgeloop/runtime';

const engine: Engine = {
  name: 'app-ort',
  priority: 1,
  format: 'onnx',
  unavailable: async () => null,
  load: (model, ctx) => loadOrt('wasm', model, ctx, 'session'),
};

export default engine;
