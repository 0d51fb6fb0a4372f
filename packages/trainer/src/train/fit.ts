/**
 * Training loop: one `model.fit` over in-memory tensors (no per-step JS work of our own, so the trainer keeps bare
 * fit's throughput), with progress reported per batch and an optional frozen base for fine-tuning a user's model.
 */
import * as tf from '@tensorflow/tfjs';
import { inputTensor, mulberry32, oneHotTensor, type ExampleSet } from '../data/examples.js';
import { TrainerError } from '../errors.js';

export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** Seed of the per-epoch shuffles (TF.js's own shuffle uses Math.random, so runs would not repeat). */
  seed?: number;
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
  const rand = mulberry32(options.seed ?? 1);
  const losses: number[] = [];
  let seen = 0;
  const started = performance.now();
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      // One fit() per epoch over a seeded permutation: the same seed gives the same training run.
      const order = tf.tensor1d(permutation(data.count, rand), 'int32');
      const [ex, ey] = [tf.gather(xs, order), tf.gather(ys, order)];
      order.dispose();
      try {
        const h = await model.fit(ex, ey, {
          epochs: 1,
          batchSize,
          shuffle: false,
          verbose: 0,
          // Only read the loss per batch when somebody listens: reading it syncs the backend and costs throughput.
          ...(options.onProgress
            ? {
                callbacks: {
                  onBatchEnd: async (_b: number, logs?: tf.Logs) => {
                    seen += batchSize;
                    options.onProgress?.({ epoch, epochs, samples: Math.min(seen, data.count * epochs), total: data.count * epochs, loss: Number(logs?.loss ?? NaN) });
                  },
                },
              }
            : {}),
        });
        losses.push(Number(h.history.loss?.[0] ?? NaN));
      } finally {
        tf.dispose([ex, ey]);
      }
    }
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

function permutation(n: number, rand: () => number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}
