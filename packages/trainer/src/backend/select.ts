/**
 * BackendChoice: picks the TF.js backend the trainer runs on and says why. WebGPU through Dawn (the `webgpu`
 * package) when a hardware adapter exists; a software adapter (SwiftShader, llvmpipe…) is slower than the cpu
 * backend, so `auto` skips it, but `--backend webgpu` forces it (that is how tests exercise WebGPU without a GPU).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { TrainerError } from '../errors.js';
import { installFastCpuKernels } from './cpu-kernels.js';

export type BackendRequest = 'auto' | 'webgpu' | 'cpu';

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  description: string;
  software: boolean;
}

export interface BackendChoice {
  name: 'webgpu' | 'cpu';
  reason: string;
  adapter?: AdapterSummary;
}

interface Probe {
  gpu: GPU;
  adapter: GPUAdapter;
  summary: AdapterSummary;
}

let active: { choice: BackendChoice; device?: GPUDevice } | undefined;

/** Selects, initialises and activates a backend (once per process; later calls return the first choice). */
export async function useBackend(request: BackendRequest = 'auto'): Promise<BackendChoice> {
  if (active) return active.choice;
  if (request === 'cpu') return useCpu('requested with --backend cpu');
  const probe = await probeWebGpu();
  if ('missing' in probe) {
    if (request === 'webgpu') throw new TrainerError('ELT_BACKEND_UNAVAILABLE', ['webgpu', probe.missing]);
    return useCpu(`no WebGPU GPU: ${probe.missing}`);
  }
  const what = `${probe.summary.description || probe.summary.architecture || probe.summary.vendor || 'unknown adapter'}`;
  if (probe.summary.software && request === 'auto') {
    return useCpu(`only a software WebGPU adapter (${what}), slower than cpu; --backend webgpu forces it`);
  }
  const reason = probe.summary.software
    ? `forced with --backend webgpu on a software adapter (${what})`
    : `hardware WebGPU adapter: ${what}`;
  return useWebGpu(probe, reason);
}

/** Releases the GPU device (so the process can exit) and forgets the choice. */
export async function releaseBackend(): Promise<void> {
  if (!active) return;
  if (active.device) {
    if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
    active.device.destroy();
    // dawn.node keeps the process alive while a reference to its GPU object exists.
    delete (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu;
  }
  active = undefined;
}

async function useCpu(reason: string): Promise<BackendChoice> {
  installFastCpuKernels();
  await tf.setBackend('cpu');
  await tf.ready();
  active = { choice: { name: 'cpu', reason } };
  return active.choice;
}

/**
 * On Linux, whether the dynamic linker can find a Vulkan loader (libvulkan.so.1) for Dawn: in LD_LIBRARY_PATH or
 * the linker's cache. Without one Dawn prints a native warning (naming a path on its own build machine) and finds
 * nothing, so the probe says why itself instead. Elsewhere (and where ldconfig is missing) Dawn is asked.
 */
function vulkanLoaderFound(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  if (dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')))) return true;
  for (const ldconfig of ['/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    if (!existsSync(ldconfig)) continue;
    try {
      return /\blibvulkan\.so\.1\b/.test(execFileSync(ldconfig, ['-p'], { encoding: 'utf8', timeout: 5000 }));
    } catch {
      return true;
    }
  }
  return true;
}

async function probeWebGpu(): Promise<Probe | { missing: string }> {
  if (!vulkanLoaderFound()) {
    return {
      missing:
        'no Vulkan loader (libvulkan.so.1) on this Linux machine: install libvulkan1 and a GPU driver (for SwiftShader, a software adapter: LD_LIBRARY_PATH=/usr/lib/chromium and VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json)',
    };
  }
  let dawn: typeof import('webgpu');
  try {
    dawn = await import('webgpu');
  } catch (e) {
    return { missing: `the webgpu (Dawn) addon did not load: ${(e as Error).message}` };
  }
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
  if (!adapter) {
    return {
      missing:
        'Dawn found no Vulkan/Metal/D3D12 adapter (on Linux it needs libvulkan.so.1 and a Vulkan driver; for SwiftShader set VK_ICD_FILENAMES)',
    };
  }
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
  const software =
    info.isFallbackAdapter === true ||
    /swiftshader|llvmpipe|lavapipe|softpipe|software|microsoft basic render/i.test(text);
  return {
    gpu,
    adapter,
    summary: { vendor: info.vendor, architecture: info.architecture, description: info.description, software },
  };
}

async function useWebGpu(probe: Probe, reason: string): Promise<BackendChoice> {
  // The TF.js WebGPU backend reads `navigator.gpu` and GPU* globals; Node 20 has no navigator.
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  g.navigator!.gpu = probe.gpu;
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  const limits = probe.adapter.limits;
  const device = await probe.adapter.requestDevice({
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  // Registered under our own adapter and device rather than the package's import-time factory, so the adapter we
  // inspected is the one that trains.
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new WebGPUBackend(device, probe.adapter.info), 3);
  if (!(await tf.setBackend('webgpu'))) {
    device.destroy();
    throw new TrainerError('ELT_BACKEND_UNAVAILABLE', [
      'webgpu',
      'TF.js could not initialise its WebGPU backend on this adapter',
    ]);
  }
  active = { choice: { name: 'webgpu', reason, adapter: probe.summary }, device };
  return active.choice;
}
