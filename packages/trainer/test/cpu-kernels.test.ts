import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { installFastCpuKernels, uninstallFastCpuKernels } from '../src/backend/cpu-kernels.js';

type Case = {
  name: string;
  x: [number, number, number, number];
  k: [number, number, number, number];
  stride: number;
  pad: 'valid' | 'same';
};
const cases: Case[] = [
  { name: '3×3 valid', x: [3, 11, 11, 2], k: [3, 3, 2, 4], stride: 1, pad: 'valid' },
  { name: '3×3 same stride 2', x: [2, 9, 10, 3], k: [3, 3, 3, 5], stride: 2, pad: 'same' },
  { name: '5×2 same', x: [2, 8, 7, 1], k: [5, 2, 1, 3], stride: 1, pad: 'same' },
];

function grads(c: Case, seed: number): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.randomUniform(c.x, -1, 1, 'float32', seed) as tf.Tensor4D;
    const k = tf.randomUniform(c.k, -1, 1, 'float32', seed + 1) as tf.Tensor4D;
    const f = (xx: tf.Tensor, kk: tf.Tensor) =>
      tf
        .maxPool(tf.conv2d(xx as tf.Tensor4D, kk as tf.Tensor4D, c.stride, c.pad), 2, c.stride, c.pad)
        .square()
        .sum();
    const [dx, dk] = tf.grads(f)([x, k]);
    return [dx!.dataSync() as Float32Array, dk!.dataSync() as Float32Array];
  });
}

test('fast cpu gradient kernels match the stock kernels (pool gradient bit for bit, filter gradient to float32 rounding)', async () => {
  await tf.setBackend('cpu');
  for (const [i, c] of cases.entries()) {
    uninstallFastCpuKernels();
    const stock = grads(c, 10 + i);
    installFastCpuKernels();
    const fast = grads(c, 10 + i);
    assert.deepEqual(fast[0], stock[0], `${c.name}: input gradient (through MaxPoolGrad)`);
    const worst = Math.max(...fast[1]!.map((v, j) => Math.abs(v - stock[1]![j]!) / (1e-6 + Math.abs(stock[1]![j]!))));
    assert.ok(worst < 1e-5, `${c.name}: filter gradient differs by ${worst} (relative)`);
  }
  uninstallFastCpuKernels();
});
