// The test page: exposes the runtime's public API (and, for benchmarks, the raw engines) to Playwright.
import * as runtime from '@edgeloop/runtime';

declare global {
  interface Window {
    edgeloop: typeof runtime;
    raw: {
      ortWasm: () => Promise<typeof import('onnxruntime-web')>;
      ortWebgpu: () => Promise<typeof import('onnxruntime-web')>;
      tf: () => Promise<typeof import('@tensorflow/tfjs-core')>;
      layers: () => Promise<typeof import('@tensorflow/tfjs-layers')>;
      backend: (name: 'cpu' | 'wasm' | 'webgpu') => Promise<unknown>;
    };
    harnessReady: boolean;
  }
}

window.edgeloop = runtime;
window.raw = {
  ortWasm: () => import('onnxruntime-web/wasm'),
  ortWebgpu: () => import('onnxruntime-web/webgpu'),
  tf: () => import('@tensorflow/tfjs-core'),
  layers: () => import('@tensorflow/tfjs-layers'),
  backend: (name) =>
    name === 'cpu' ? import('@tensorflow/tfjs-backend-cpu') : name === 'wasm' ? import('@tensorflow/tfjs-backend-wasm') : import('@tensorflow/tfjs-backend-webgpu'),
};
window.harnessReady = true;
