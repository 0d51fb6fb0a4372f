import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  checkParity,
  exportOnnx,
  isTrainerError,
  SUPPORTED_ACTIVATIONS,
  SUPPORTED_LAYERS,
  useBackend,
} from '../src/index.js';

before(async () => {
  await useBackend('cpu');
});

/** Gives every weight seeded non-trivial values (BatchNorm statistics included), so parity means something. */
function randomize(model: tf.LayersModel, seed: number): tf.LayersModel {
  model.layers.forEach((layer, i) => {
    layer.setWeights(
      layer.getWeights().map((w, j) => {
        const isVariance = layer.weights[j]!.name.includes('variance');
        return tf.randomUniform(w.shape, isVariance ? 0.5 : -0.5, isVariance ? 1.5 : 0.5, 'float32', seed + i * 10 + j);
      }),
    );
  });
  return model;
}

function chain(inputShape: number[], layers: tf.layers.Layer[]): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.inputLayer({ inputShape }));
  for (const l of layers) model.add(l);
  return model;
}

const L = tf.layers;
const cases: Record<string, () => tf.LayersModel> = {
  'Dense with bias and relu': () => chain([7], [L.dense({ units: 5, activation: 'relu' }), L.dense({ units: 3 })]),
  'Dense without bias': () => chain([6], [L.dense({ units: 4, useBias: false, activation: 'tanh' })]),
  'Conv2D valid, stride 1': () =>
    chain([9, 8, 2], [L.conv2d({ filters: 3, kernelSize: 3, activation: 'relu' }), L.flatten()]),
  'Conv2D same, stride 2, no bias': () =>
    chain([9, 10, 3], [L.conv2d({ filters: 4, kernelSize: [3, 2], strides: 2, padding: 'same', useBias: false })]),
  'Conv2D dilated': () =>
    chain([11, 11, 1], [L.conv2d({ filters: 2, kernelSize: 3, dilationRate: 2, padding: 'same' })]),
  'DepthwiseConv2D with multiplier': () =>
    chain([8, 8, 3], [L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same' })]),
  'MaxPooling2D valid and same': () =>
    chain([9, 9, 2], [L.maxPooling2d({ poolSize: 2 }), L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' })]),
  'AveragePooling2D same (pads excluded)': () =>
    chain([7, 9, 2], [L.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' })]),
  GlobalAveragePooling2D: () =>
    chain([6, 6, 4], [L.conv2d({ filters: 5, kernelSize: 3 }), L.globalAveragePooling2d({})]),
  GlobalMaxPooling2D: () => chain([6, 6, 4], [L.globalMaxPooling2d({}), L.dense({ units: 2 })]),
  'Flatten after conv (NCHW back to NHWC order)': () =>
    chain(
      [6, 5, 2],
      [L.conv2d({ filters: 3, kernelSize: 2 }), L.flatten(), L.dense({ units: 4, activation: 'softmax' })],
    ),
  Reshape: () =>
    chain(
      [12],
      [
        L.reshape({ targetShape: [2, 3, 2] }),
        L.conv2d({ filters: 2, kernelSize: 1 }),
        L.reshape({ targetShape: [-1] }),
      ],
    ),
  'Dropout and noise layers (identity at inference)': () =>
    chain(
      [5],
      [
        L.dropout({ rate: 0.5 }),
        L.gaussianNoise({ stddev: 1 }),
        L.gaussianDropout({ rate: 0.3 }),
        L.alphaDropout({ rate: 0.2 }),
        L.dense({ units: 2 }),
      ],
    ),
  'BatchNormalization after conv (rank 4)': () =>
    chain(
      [6, 6, 3],
      [L.conv2d({ filters: 4, kernelSize: 3 }), L.batchNormalization({}), L.activation({ activation: 'relu' })],
    ),
  'BatchNormalization on dense (rank 2), no scale': () =>
    chain([5], [L.dense({ units: 4 }), L.batchNormalization({ scale: false, epsilon: 0.01 })]),
  'ReLU with max value, LeakyReLU, ELU, Softmax layers': () =>
    chain(
      [6],
      [
        L.dense({ units: 6 }),
        L.reLU({ maxValue: 0.3 }),
        L.dense({ units: 5 }),
        L.leakyReLU({ alpha: 0.2 }),
        L.dense({ units: 4 }),
        L.elu({}),
        L.softmax({}),
      ],
    ),
  'Permute of NCHW data to channels-last and back around a conv (no Transpose needed)': () =>
    chain(
      [2, 6, 5],
      [
        L.permute({ dims: [2, 3, 1] }),
        L.conv2d({ filters: 3, kernelSize: 2 }),
        L.permute({ dims: [3, 1, 2] }),
        L.flatten(),
        L.dense({ units: 4 }),
      ],
    ),
  'Permute of other orders (a Transpose)': () => chain([3, 4, 5], [L.permute({ dims: [3, 1, 2] }), L.flatten()]),
  'ZeroPadding2D before a valid conv and an average pool': () =>
    chain(
      [6, 7, 2],
      [
        L.zeroPadding2d({
          padding: [
            [1, 2],
            [0, 1],
          ],
        }),
        L.conv2d({ filters: 3, kernelSize: 3 }),
        L.zeroPadding2d({ padding: 1 }),
        L.averagePooling2d({ poolSize: 2 }),
      ],
    ),
  'Softmax on a conv output (last axis)': () =>
    chain([4, 4, 2], [L.conv2d({ filters: 3, kernelSize: 1, activation: 'softmax' })]),
};
for (const act of SUPPORTED_ACTIVATIONS) {
  cases[`activation ${act}`] = () =>
    chain(
      [4, 4, 2],
      [
        L.conv2d({ filters: 3, kernelSize: 2 }),
        L.activation({ activation: act as never }),
        L.flatten(),
        L.dense({ units: 3, activation: act as never }),
      ],
    );
}

let seed = 1;
for (const [name, build] of Object.entries(cases)) {
  test(`ONNX parity: ${name}`, async () => {
    const model = randomize(build(), seed++);
    const onnx = await exportOnnx(model);
    const parity = await checkParity(model, onnx, { count: 100 });
    assert.ok(parity.maxAbsDiff <= 1e-4, `max diff ${parity.maxAbsDiff}`);
  });
}

test('every supported layer type has a parity case', () => {
  const covered = new Set<string>(['InputLayer']);
  for (const build of Object.values(cases)) for (const l of build().layers) covered.add(l.getClassName());
  for (const cls of SUPPORTED_LAYERS) assert.ok(covered.has(cls), `no parity case uses ${cls}`);
});

test('an unsupported layer gives a clear error naming it', async () => {
  const model = chain([8, 8, 2], [L.upSampling2d({ size: [2, 2] }), L.flatten()]);
  await assert.rejects(exportOnnx(model), (e: unknown) => {
    assert.ok(isTrainerError(e, 'ELT_UNSUPPORTED_LAYER'));
    assert.match((e as Error).message, /UpSampling2D/);
    assert.match((e as Error).message, /use Dense, Conv2D/);
    return true;
  });
});

test('an unsupported activation gives a clear error naming it', async () => {
  const model = chain([4], [L.dense({ units: 3, activation: 'gelu' as never })]);
  await assert.rejects(exportOnnx(model), /activation "gelu"/);
});

test('a branching model gives a clear error', async () => {
  const input = tf.input({ shape: [4] });
  const a = L.dense({ units: 3 }).apply(input) as tf.SymbolicTensor;
  const b = L.dense({ units: 3 }).apply(input) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: L.add().apply([a, b]) as tf.SymbolicTensor });
  await assert.rejects(exportOnnx(model), (e: unknown) => isTrainerError(e, 'ELT_UNSUPPORTED_LAYER'));
});

test('a wrong export fails the parity check', async () => {
  const model = randomize(chain([5], [L.dense({ units: 3 })]), 99);
  const other = randomize(chain([5], [L.dense({ units: 3 })]), 100);
  await assert.rejects(checkParity(model, await exportOnnx(other)), (e: unknown) =>
    isTrainerError(e, 'ELT_PARITY_FAILED'),
  );
});
