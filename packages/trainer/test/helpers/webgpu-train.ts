/**
 * Child process for the WebGPU test: trains the same small model for a few steps on the forced WebGPU backend and
 * on cpu, from the same initial weights and data, and prints the losses and predictions as JSON. A child process
 * because Dawn finds SwiftShader only through environment variables read at start-up (VK_ICD_FILENAMES and, where
 * libvulkan.so.1 is not installed, LD_LIBRARY_PATH).
 */
import * as tf from '@tensorflow/tfjs';
import { inputTensor, loadMnist, oneHotTensor } from '../../src/index.js';
import { releaseBackend, useBackend } from '../../src/backend/select.js';

const steps = 6;
const data = loadMnist('train', 64);
const probe = loadMnist('test', 32);

function build(): tf.Sequential {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 4,
        kernelSize: 3,
        strides: 2,
        activation: 'relu',
        kernelInitializer: init(1),
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(2) }),
    ],
  });
}

async function run(): Promise<{ losses: number[]; predictions: number[] }> {
  const model = build();
  // Plain SGD on one fixed batch, no shuffling: both backends see exactly the same steps.
  model.compile({ optimizer: tf.train.sgd(0.5), loss: 'categoricalCrossentropy' });
  const xs = inputTensor(data);
  const ys = oneHotTensor(data);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) losses.push(Number(await model.trainOnBatch(xs, ys)));
  const predictions = Array.from(await (model.predict(inputTensor(probe)) as tf.Tensor).data());
  return { losses, predictions };
}

const choice = await useBackend('webgpu');
const webgpu = await run();
await releaseBackend();
await useBackend('cpu');
const cpu = await run();
process.stdout.write(JSON.stringify({ choice, webgpu, cpu }) + '\n');
await releaseBackend();
