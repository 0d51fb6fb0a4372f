// The test page: exposes the runtime's public API, a small test kit and (for benchmarks) the raw engines.
import * as runtime from '@edgeloop/runtime';
import * as internal from '@edgeloop/runtime/internal';
import type { Prediction, Runtime, RuntimeErrorEvent, RuntimeOptions, SwapEvent } from '@edgeloop/runtime';

interface Kit {
  rts: Record<string, Runtime>;
  swaps: Record<string, SwapEvent[]>;
  errors: Record<string, RuntimeErrorEvent[]>;
  /** Creates runtime `name`, recording its swap and error events. */
  create(name: string, options: RuntimeOptions): Promise<ReturnType<Runtime['status']>>;
  /** Predicts every input in order. */
  predictAll(name: string, xs: number[][]): Promise<Prediction[]>;
  dispose(name: string): Promise<void>;
}

declare global {
  interface Window {
    edgeloop: typeof runtime;
    /** The runtime's internal entry (benchmarks build engine variants from it). */
    internal: typeof internal;
    kit: Kit;
    raw: {
      ortWasm: () => Promise<typeof import('onnxruntime-web')>;
      ortWebgpu: () => Promise<typeof import('onnxruntime-web')>;
      tf: () => Promise<typeof import('@tensorflow/tfjs-core')>;
      layers: () => Promise<typeof import('@tensorflow/tfjs-layers')>;
      backend: (name: 'cpu' | 'wasm' | 'webgpu') => Promise<unknown>;
    };
    harnessReady: boolean;
    __name?: (f: unknown) => unknown;
  }
}

// Functions passed to page.evaluate() from tsx-compiled tests may call esbuild's __name helper.
window.__name = (f) => f;
window.edgeloop = runtime;
window.internal = internal;
window.kit = {
  rts: {},
  swaps: {},
  errors: {},
  async create(name, options) {
    const rt = await runtime.createRuntime(options);
    this.rts[name] = rt;
    this.swaps[name] = [];
    this.errors[name] = [];
    rt.on('swap', (e) => this.swaps[name]!.push(e));
    rt.on('error', (e) => this.errors[name]!.push(e));
    return rt.status();
  },
  async predictAll(name, xs) {
    const out: Prediction[] = [];
    for (const x of xs) out.push(await this.rts[name]!.predict(x));
    return out;
  },
  async dispose(name) {
    await this.rts[name]?.dispose();
    delete this.rts[name];
  },
};
window.raw = {
  ortWasm: () => import('onnxruntime-web/wasm'),
  ortWebgpu: () => import('onnxruntime-web/webgpu'),
  tf: () => import('@tensorflow/tfjs-core'),
  layers: () => import('@tensorflow/tfjs-layers'),
  backend: (name) =>
    name === 'cpu'
      ? import('@tensorflow/tfjs-backend-cpu')
      : name === 'wasm'
        ? import('@tensorflow/tfjs-backend-wasm')
        : import('@tensorflow/tfjs-backend-webgpu'),
};
window.harnessReady = true;
