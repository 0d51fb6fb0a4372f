/**
 * The digits model: a small CNN that trains in seconds on the CPU backend and stays well under a megabyte, so the
 * runtime downloads and hot-swaps it quickly. Input `[batch, 28, 28, 1]` float32 in [0, 1]; softmax over "0"…"9".
 */
import * as tf from '@tensorflow/tfjs';
import type { InputSpec } from '@edgeloop/protocol';

export interface DigitsModelOptions {
  /** Seed for every initializer, so two runs start from the same weights. */
  seed?: number;
  /** Filters of the two conv blocks. */
  filters?: [number, number];
  /** Units of the hidden dense layer. */
  hidden?: number;
}

/**
 * Builds (uncompiled) the digits CNN: (Conv-ReLU-Pool) ×2, Flatten, Dropout, Dense-ReLU, Dense-softmax. No
 * BatchNorm: on the cpu backend its broadcast arithmetic cost more than both convolutions together.
 */
export function buildDigitsModel(options: DigitsModelOptions = {}): tf.Sequential {
  const seed = options.seed ?? 1;
  const [f1, f2] = options.filters ?? [8, 16];
  const hidden = options.hidden ?? 64;
  const init = (n: number) => tf.initializers.glorotUniform({ seed: seed * 100 + n });
  const model = tf.sequential({ name: 'digits' });
  model.add(
    tf.layers.conv2d({
      name: 'conv1',
      inputShape: [28, 28, 1],
      filters: f1,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: init(1),
    }),
  );
  model.add(tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }));
  model.add(
    tf.layers.conv2d({ name: 'conv2', filters: f2, kernelSize: 3, activation: 'relu', kernelInitializer: init(2) }),
  );
  model.add(tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }));
  model.add(tf.layers.flatten({ name: 'flatten' }));
  model.add(tf.layers.dropout({ name: 'dropout', rate: 0.25, seed }));
  model.add(tf.layers.dense({ name: 'hidden', units: hidden, activation: 'relu', kernelInitializer: init(3) }));
  model.add(tf.layers.dense({ name: 'probs', units: 10, activation: 'softmax', kernelInitializer: init(4) }));
  return model;
}

/** The digits model's input spec as the manifest states it: one example's shape, float32 in [0, 1] as given. */
export const DIGITS_INPUT = {
  shape: [28, 28, 1],
  dtype: 'float32',
  normalize: { scale: 1, offset: 0 },
} as const satisfies InputSpec;
