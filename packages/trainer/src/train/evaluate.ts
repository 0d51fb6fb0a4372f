/**
 * Evaluation: accuracy, per-class recall and the confusion matrix of a model on an ExampleSet, predicted in chunks
 * so memory stays flat on large sets.
 */
import * as tf from '@tensorflow/tfjs';
import { inputTensor, type ExampleSet } from '../data/examples.js';

export interface Evaluation {
  count: number;
  accuracy: number;
  /** Recall per label (null when the set has no example of that label). */
  recall: Record<string, number | null>;
  /** confusion[true][predicted] counts. */
  confusion: number[][];
}

/** Predicted label indices for every example of `data`. */
export async function predictLabels(model: tf.LayersModel, data: ExampleSet, chunk = 256): Promise<Int32Array> {
  const out = new Int32Array(data.count);
  for (let from = 0; from < data.count; from += chunk) {
    const to = Math.min(data.count, from + chunk);
    const idx = tf.tidy(() => (model.predict(inputTensor(data, from, to)) as tf.Tensor).argMax(-1));
    // Asynchronous read: the WebGPU backend has no efficient synchronous one.
    out.set(await idx.data(), from);
    idx.dispose();
  }
  return out;
}

/** Evaluates `model` on `data`. */
export async function evaluateModel(model: tf.LayersModel, data: ExampleSet): Promise<Evaluation> {
  const n = data.labels.length;
  const confusion = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const predicted = await predictLabels(model, data);
  let correct = 0;
  for (let i = 0; i < data.count; i++) {
    const t = data.y[i]!;
    const p = predicted[i]!;
    confusion[t]![p]!++;
    if (t === p) correct++;
  }
  const recall: Record<string, number | null> = {};
  data.labels.forEach((label, i) => {
    const row = confusion[i]!;
    const total = row.reduce((a, b) => a + b, 0);
    recall[label] = total === 0 ? null : row[i]! / total;
  });
  return { count: data.count, accuracy: data.count === 0 ? 0 : correct / data.count, recall, confusion };
}
