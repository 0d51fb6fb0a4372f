/**
 * Training loop: one `model.fit` over in-memory tensors (no per-step JS work of our own, so the trainer keeps bare
 * fit's throughput), with progress reported per batch and an optional frozen base for fine-tuning a user's model.
 */
import * as tf from '@tensorflow/tfjs';
import { inputTensor, oneHotTensor, type ExampleSet } from '../data/examples.js';
import { TrainerError } from '../errors.js';

export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** Train only the last `trainableTail` layers that have weights (fine-tune the head, freeze the base). */
  trainableTail?: number;
  /** Called after every batch with the samples seen so far and the running loss. */
  onProgress?: (p: { epoch: number; epochs: number; samples: number; total: number; loss: number }) => void;
}

export interface FitResult {
  epochs: number;
  samples: number;
  loss: number[];
  seconds: number;
  samplesPerSec: number;
}

/** Compiles `model` with Adam + categorical cross-entropy and fits it on `data`. */
export async function fitModel(model: tf.LayersModel, data: ExampleSet, options: FitOptions = {}): Promise<FitResult> {
  if (data.count === 0) throw new TrainerError('ELT_BAD_DATA', ['no examples to train on']);
  const epochs = options.epochs ?? 3;
  const batchSize = options.batchSize ?? 32;
  freezeBase(model, options.trainableTail);
  model.compile({ optimizer: tf.train.adam(options.learningRate ?? 1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const xs = inputTensor(data);
  const ys = oneHotTensor(data);
  const losses: number[] = [];
  let epoch = 0;
  let seen = 0;
  const started = performance.now();
  try {
    await model.fit(xs, ys, {
      epochs,
      batchSize,
      shuffle: true,
      verbose: 0,
      // Only read the loss when somebody listens: reading it syncs the backend and costs throughput.
      callbacks: options.onProgress
        ? {
            onEpochBegin: async (e) => {
              epoch = e;
            },
            onBatchEnd: async (_b, logs) => {
              seen += batchSize;
              options.onProgress?.({ epoch, epochs, samples: Math.min(seen, data.count * epochs), total: data.count * epochs, loss: Number(logs?.loss ?? NaN) });
            },
            onEpochEnd: async (_e, logs) => {
              losses.push(Number(logs?.loss ?? NaN));
            },
          }
        : { onEpochEnd: async (_e, logs) => void losses.push(Number(logs?.loss ?? NaN)) },
    });
  } finally {
    xs.dispose();
    ys.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  return { epochs, samples: data.count * epochs, loss: losses, seconds, samplesPerSec: (data.count * epochs) / seconds };
}

/** Marks all but the last `tail` weighted layers untrainable (all trainable when `tail` is undefined). */
function freezeBase(model: tf.LayersModel, tail: number | undefined): void {
  const weighted = model.layers.filter((l) => l.weights.length > 0);
  weighted.forEach((l, i) => {
    l.trainable = tail === undefined || i >= weighted.length - tail;
  });
}
