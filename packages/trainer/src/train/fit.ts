/**
 * Training loop: one `model.fit` over in-memory tensors (no per-step JS work of our own, so the trainer keeps bare
 * fit's throughput), with progress reported per batch and an optional frozen base for fine-tuning a user's model.
 */
import * as tf from '@tensorflow/tfjs';
import { eraseInPlace, shiftInPlace } from '../data/augment.js';
import { exampleSize, inputTensor, mulberry32, oneHotTensor, pick, type ExampleSet } from '../data/examples.js';
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
  /**
   * Soft targets (`count × labels`, rows summing to 1) used instead of one-hot labels: distillation mixes the
   * stable model's outputs into the labels of replayed examples.
   */
  targets?: Float32Array;
  /**
   * Early stopping: after every epoch `score(model)` is read on held-out data (higher is better); training stops
   * after `patience` epochs without a new best (default 2), and the best epoch's weights are restored.
   */
  earlyStopping?: { score: (model: tf.LayersModel) => Promise<number>; patience?: number };
  /**
   * Train on part of the rows each epoch: the first `always` rows every epoch, and the next `window` rows of the
   * rest, a different window each epoch (wrapping around). With the rest a replay sample several epochs long, every
   * epoch replays other old examples: the old task's gradient is estimated on many more of them, at the same cost.
   */
  rotate?: { always: number; window: number };
  /**
   * Shift augmentation (image inputs): in every epoch the first `rows` rows (the new examples) are moved by up to
   * `shift` pixels on each axis, a seeded offset per row and epoch (see data/augment.ts). With `trainableTail`, the
   * frozen base's features of the moved examples are computed again each epoch (the rest's once). With `erase`,
   * each of those rows also has a random rectangle erased with that probability (random erasing, data/augment.ts).
   */
  augment?: { rows: number; shift: number; erase?: number; layout?: 'nhwc' | 'nchw' };
  /**
   * What the model outputs and the loss that trains it: 'softmax' (default), probabilities under categorical
   * cross-entropy; 'sigmoid', a multi-label model's logits under binary cross-entropy per label, against the set's
   * multi-hot `yMulti` (or `targets`).
   */
  loss?: 'softmax' | 'sigmoid';
}

export interface FitResult {
  /** Epochs run (fewer than asked when early stopping ended the run). */
  epochs: number;
  /** With early stopping: the epoch (1-based) whose weights were kept, and its held-out score. */
  bestEpoch?: number;
  bestScore?: number;
  samples: number;
  loss: number[];
  seconds: number;
  samplesPerSec: number;
}

/**
 * Compiles `model` with Adam + categorical cross-entropy and fits it on `data`. With `trainableTail`, only the head
 * trains: the frozen base runs once in inference mode (so BatchNorm statistics and dropout stay as they are) and
 * the head layers, shared with `model`, are fitted on its features.
 */
export async function fitModel(model: tf.LayersModel, data: ExampleSet, options: FitOptions = {}): Promise<FitResult> {
  if (data.count === 0) throw new TrainerError('ELT_BAD_DATA', ['no examples to train on']);
  const split = options.trainableTail === undefined ? null : splitHead(model, options.trainableTail);
  if (!split) return fitAll(model, data, options);
  const features = await baseFeatures(split.base, data);
  // Early stopping scores the whole model: the head shares its layers, so it sees the head's current weights.
  const stopping = options.earlyStopping;
  return fitAll(
    split.head,
    features,
    stopping ? { ...options, earlyStopping: { ...stopping, score: () => stopping.score(model) } } : options,
    { raw: data, base: split.base },
  );
}

/**
 * Fits `model` on `data`. With `frozen`, `data` holds the frozen base's features of `frozen.raw`: augmentation then
 * shifts the raw examples and recomputes their features each epoch.
 */
async function fitAll(
  model: tf.LayersModel,
  data: ExampleSet,
  options: FitOptions,
  frozen?: { raw: ExampleSet; base: tf.LayersModel },
): Promise<FitResult> {
  const epochs = options.epochs ?? 3;
  const batchSize = options.batchSize ?? 32;
  const sigmoid = options.loss === 'sigmoid';
  if (sigmoid && !data.yMulti && !options.targets)
    throw new TrainerError('ELT_BAD_DATA', ['a multi-label fit needs examples with label sets']);
  model.compile({
    optimizer: tf.train.adam(options.learningRate ?? 1e-3),
    // On logits, so that a confident wrong label still has a gradient (a sigmoid output would saturate).
    ...(sigmoid
      ? { loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.losses.sigmoidCrossEntropy(yTrue, yPred) }
      : { loss: 'categoricalCrossentropy', metrics: ['accuracy'] }),
  });
  const rand = mulberry32(options.seed ?? 1);
  const losses: number[] = [];
  let seen = 0;
  const perEpoch = epochRows(data.count, 0, options.rotate).length;
  const started = performance.now();
  const stopping = options.earlyStopping;
  let best: { epoch: number; score: number; weights: tf.Tensor[] } | null = null;
  let ran = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    // One fit() per epoch over a seeded permutation made on the JS side (no extra tensor copy): the same seed
    // gives the same training run, where TF.js's own shuffle would use Math.random.
    const order = epochRows(data.count, epoch, options.rotate);
    shuffleInPlace(order, rand);
    const epochData = pick(data, order);
    const aug = options.augment;
    if (aug && (aug.shift > 0 || (aug.erase ?? 0) > 0)) {
      const rows = order.flatMap((src, i) => (src < aug.rows ? [i] : []));
      const transform = (set: ExampleSet, at: Iterable<number>) => {
        shiftInPlace(set, at, aug.shift, rand, aug.layout);
        eraseInPlace(set, at, aug.erase ?? 0, rand, aug.layout);
      };
      if (!frozen) transform(epochData, rows);
      else {
        const moved = pick(
          frozen.raw,
          rows.map((i) => order[i]!),
        );
        transform(moved, [...moved.y.keys()]);
        const f = await baseFeatures(frozen.base, moved);
        const size = exampleSize(epochData.shape);
        rows.forEach((i, k) => epochData.x.set(f.x.subarray(k * size, (k + 1) * size), i * size));
      }
    }
    const [ex, ey] = [
      inputTensor(epochData),
      options.targets
        ? softTensor(options.targets, order, data.labels.length)
        : epochData.yMulti
          ? tf.tensor2d(epochData.yMulti, [epochData.count, data.labels.length])
          : oneHotTensor(epochData),
    ];
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
                  options.onProgress?.({
                    epoch,
                    epochs,
                    samples: Math.min(seen, perEpoch * epochs),
                    total: perEpoch * epochs,
                    loss: Number(logs?.loss ?? NaN),
                  });
                },
              },
            }
          : {}),
      });
      losses.push(Number(h.history.loss?.[0] ?? NaN));
    } finally {
      tf.dispose([ex, ey]);
    }
    ran = epoch + 1;
    if (stopping) {
      const score = await stopping.score(model);
      if (!best || score > best.score) {
        if (best) tf.dispose(best.weights);
        best = { epoch: ran, score, weights: model.getWeights().map((w) => w.clone()) };
      } else if (ran - best.epoch >= (stopping.patience ?? 2)) break;
    }
  }
  if (best) {
    model.setWeights(best.weights);
    tf.dispose(best.weights);
  }
  const seconds = (performance.now() - started) / 1000;
  const samples = perEpoch * ran;
  return {
    epochs: ran,
    samples,
    loss: losses,
    seconds,
    samplesPerSec: samples / seconds,
    ...(best ? { bestEpoch: best.epoch, bestScore: best.score } : {}),
  };
}

/** Rows `order` of a `count × width` soft-target matrix as a tensor. */
function softTensor(targets: Float32Array, order: readonly number[], width: number): tf.Tensor {
  const out = new Float32Array(order.length * width);
  order.forEach((src, dst) => out.set(targets.subarray(src * width, (src + 1) * width), dst * width));
  return tf.tensor2d(out, [order.length, width]);
}

/**
 * Splits a single-chain model before its last `tail` weighted layers: `base` (the model's own graph up to there)
 * and `head` (a model over the remaining layers, sharing their weights). Null when nothing would be frozen.
 */
function splitHead(model: tf.LayersModel, tail: number): { base: tf.LayersModel; head: tf.LayersModel } | null {
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const weighted = layers.filter((l) => l.weights.length > 0);
  if (tail >= weighted.length) return null;
  const at = layers.indexOf(weighted[weighted.length - tail]!);
  if (at <= 0 || layers.some((l) => l.inboundNodes.length !== 1)) {
    throw new TrainerError('ELT_BAD_MODEL', ['fine-tuning the head needs a single chain of layers']);
  }
  const base = tf.model({ inputs: model.inputs, outputs: layers[at - 1]!.output as tf.SymbolicTensor });
  const input = tf.input({ shape: (layers[at - 1]!.outputShape as (number | null)[]).slice(1) as number[] });
  let y: tf.SymbolicTensor = input;
  for (const l of layers.slice(at)) y = l.apply(y) as tf.SymbolicTensor;
  return { base, head: tf.model({ inputs: input, outputs: y }) };
}

/** The base's outputs for every example, computed in inference mode in chunks. */
async function baseFeatures(base: tf.LayersModel, data: ExampleSet, chunk = 256): Promise<ExampleSet> {
  const shape = base.outputs[0]!.shape.slice(1) as number[];
  const size = shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(data.count * size);
  for (let from = 0; from < data.count; from += chunk) {
    const to = Math.min(data.count, from + chunk);
    const input = inputTensor(data, from, to);
    const out = base.predict(input) as tf.Tensor;
    x.set((await out.data()) as Float32Array, from * size);
    tf.dispose([input, out]);
  }
  return {
    x,
    y: data.y,
    ...(data.yMulti ? { yMulti: data.yMulti } : {}),
    count: data.count,
    shape,
    labels: data.labels,
  };
}

/** The rows an epoch trains on (see FitOptions.rotate): all of them without `rotate`. */
function epochRows(count: number, epoch: number, rotate: FitOptions['rotate']): number[] {
  const all = Array.from({ length: count }, (_, i) => i);
  if (!rotate) return all;
  const rest = count - rotate.always;
  if (rest <= rotate.window) return all;
  const start = (epoch * rotate.window) % rest;
  return [
    ...all.slice(0, rotate.always),
    ...Array.from({ length: rotate.window }, (_, k) => rotate.always + ((start + k) % rest)),
  ];
}

function shuffleInPlace(p: number[], rand: () => number): void {
  for (let i = p.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
}
