import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { BackendChoice } from '../src/index.js';
import { runWithSwiftShader } from './helpers/swiftshader.js';

type Run = { losses: number[]; predictions: number[] };

test('auto does not take a software WebGPU adapter and says why', () => {
  const choice = runWithSwiftShader<BackendChoice>('backend-choice.ts', ['auto']);
  assert.equal(choice.name, 'cpu');
  assert.match(choice.reason, /software WebGPU adapter/);
});

test('forced WebGPU trains on SwiftShader: loss falls and predictions match cpu', () => {
  const { choice, webgpu, cpu } = runWithSwiftShader<{ choice: BackendChoice; webgpu: Run; cpu: Run }>(
    'webgpu-train.ts',
  );
  assert.equal(choice.name, 'webgpu');
  assert.equal(choice.adapter?.software, true, choice.reason);
  assert.ok(
    webgpu.losses.at(-1)! < webgpu.losses[0]! - 0.05,
    `loss should fall on WebGPU: ${webgpu.losses.join(', ')}`,
  );
  webgpu.losses.forEach((l, i) =>
    assert.ok(Math.abs(l - cpu.losses[i]!) < 1e-3, `step ${i}: loss ${l} on WebGPU vs ${cpu.losses[i]} on cpu`),
  );
  const worst = Math.max(...webgpu.predictions.map((p, i) => Math.abs(p - cpu.predictions[i]!)));
  assert.ok(worst < 1e-3, `predictions differ by up to ${worst}`);
});

test('without a Vulkan loader the probe says so itself: no native Dawn warning in the output', () => {
  const env = { ...process.env };
  delete env.LD_LIBRARY_PATH;
  delete env.VK_ICD_FILENAMES;
  const r = spawnSync(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      fileURLToPath(new URL('./helpers/backend-choice.ts', import.meta.url)),
      'auto',
    ],
    { env, encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Couldn't load Vulkan|BackendVk\.cpp/, 'Dawn was asked without a loader');
  const choice = JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('{'))!) as BackendChoice;
  const systemLoader = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'].some((d) =>
    existsSync(`${d}/libvulkan.so.1`),
  );
  if (!systemLoader) {
    assert.equal(choice.name, 'cpu');
    assert.match(choice.reason, /no Vulkan loader \(libvulkan\.so\.1\)/);
  }
});
