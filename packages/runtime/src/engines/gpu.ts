/** Whether WebGPU can run here, asked once (requesting an adapter is slow on some systems). */
interface AdapterLike {
  info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}

let answer: Promise<{ problem: string | null; adapter: string }> | undefined;

function ask(): Promise<{ problem: string | null; adapter: string }> {
  return (answer ??= (async () => {
    const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<AdapterLike | null> } } | undefined)?.gpu;
    if (!gpu) return { problem: 'no navigator.gpu (WebGPU is off or unsupported)', adapter: '' };
    try {
      const adapter = await gpu.requestAdapter();
      if (!adapter) return { problem: 'no WebGPU adapter', adapter: '' };
      const info = adapter.info ?? {};
      const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter';
      const software =
        info.isFallbackAdapter || adapter.isFallbackAdapter || /swiftshader|llvmpipe|software/i.test(name);
      return { problem: null, adapter: software ? `${name} (software)` : name };
    } catch (err) {
      return { problem: `WebGPU adapter request failed: ${(err as Error).message}`, adapter: '' };
    }
  })());
}

/** Why WebGPU cannot run here, or `null` if an adapter is available. */
export async function gpuUnavailable(): Promise<string | null> {
  return (await ask()).problem;
}

/** The WebGPU adapter's name, marked "(software)" for SwiftShader-like adapters; empty without WebGPU. */
export async function gpuAdapterName(): Promise<string> {
  return (await ask()).adapter;
}
