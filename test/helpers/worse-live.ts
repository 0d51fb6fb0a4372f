/**
 * A candidate that passes the offline gate's golden checks but is worse live, made from the stable model: one of its
 * hidden units, the one stable relies on least, is rewired into a detector of the drift (the direction in which the
 * drifted digits' features differ from the golden set's, firing only beyond every golden digit) that votes for one
 * class. Clean golden digits never fire it, so golden accuracy and every class's golden recall stay within the
 * gate's tolerances of stable's; drifted digits do, and are mislabeled as that class: a model trained to mislabel
 * one class on exactly the inputs the golden set does not cover.
 */
import * as tf from '@tensorflow/tfjs';
import {
  GATE_DEFAULTS,
  CollectorClient,
  decodeExamples,
  exportModel,
  inputTensor,
  predictLabels,
  storedModel,
  type ArtifactFile,
  type ExampleSet,
} from '@edgeloop/trainer';
import type { VersionMeta } from '@edgeloop/protocol';

export interface WorseLive {
  files: ArtifactFile[];
  meta: VersionMeta;
  /** The class the drifted digits are pushed to. */
  label: string;
  golden: { stable: number; candidate: number };
  /** Error rate on the drifted digits. */
  drifted: { stable: number; candidate: number };
}

function scores(pred: Int32Array, set: ExampleSet) {
  const k = set.labels.length;
  const right = new Array<number>(k).fill(0);
  const total = new Array<number>(k).fill(0);
  let correct = 0;
  pred.forEach((p, i) => {
    const y = set.y[i]!;
    total[y]!++;
    if (p === y) {
      correct++;
      right[y]!++;
    }
  });
  return { accuracy: correct / set.count, recall: right.map((r, i) => (total[i] ? r / total[i]! : 1)) };
}

/** The flattened convolutional features of every example, `count × width`. */
async function features(net: tf.LayersModel, set: ExampleSet): Promise<{ f: Float32Array; width: number }> {
  const flatten = net.getLayer('flatten');
  const head = tf.model({ inputs: net.inputs, outputs: flatten.output as tf.SymbolicTensor });
  const x = inputTensor(set);
  const y = head.predict(x) as tf.Tensor2D;
  const f = (await y.data()) as Float32Array;
  const width = y.shape[1];
  x.dispose();
  y.dispose();
  return { f, width };
}

/**
 * Builds the candidate from `stable` (pushing drifted digits to `label`), checks the golden gate's tolerances with
 * `margin` to spare, and exports it (TF.js Layers and a parity-checked ONNX) with stable's meta.
 */
export async function worseLiveCandidate(
  client: CollectorClient,
  model: string,
  stable: string,
  drifted: ExampleSet,
  label = '8',
  margin = 0.001,
): Promise<WorseLive> {
  const stored = await storedModel(client, model, stable);
  const { labels, input } = stored.version.meta;
  const golden = decodeExamples((await client.golden(model)) ?? [], labels, input).bySplit.golden;
  const net = await stored.load();
  const c = labels.indexOf(label);
  const base = {
    golden: scores(await predictLabels(net, golden), golden),
    drifted: scores(await predictLabels(net, drifted), drifted),
  };

  // The drift's direction in feature space, and a threshold past every golden digit's projection on it.
  const g = await features(net, golden);
  const d = await features(net, drifted);
  const width = g.width;
  const w = new Float32Array(width);
  for (let i = 0; i < golden.count; i++) for (let j = 0; j < width; j++) w[j]! -= g.f[i * width + j]! / golden.count;
  for (let i = 0; i < drifted.count; i++) for (let j = 0; j < width; j++) w[j]! += d.f[i * width + j]! / drifted.count;
  const project = (f: Float32Array, i: number) => w.reduce((s, wj, j) => s + wj * f[i * width + j]!, 0);
  const threshold = Math.max(...Array.from({ length: golden.count }, (_, i) => project(g.f, i)));
  const spread = Math.max(
    1e-6,
    Math.max(...Array.from({ length: drifted.count }, (_, i) => project(d.f, i))) - threshold,
  );

  // The hidden unit stable relies on least: the smallest outgoing weights.
  const hidden = net.getLayer('hidden');
  const probs = net.getLayer('probs');
  const [hk, hb] = hidden.getWeights() as [tf.Tensor2D, tf.Tensor1D];
  const [pk, pb] = probs.getWeights() as [tf.Tensor2D, tf.Tensor1D];
  const units = hk.shape[1];
  const out = (await pk.data()).slice();
  const k = labels.length;
  let unit = 0;
  let least = Infinity;
  for (let u = 0; u < units; u++) {
    const norm = Array.from({ length: k }, (_, j) => out[u * k + j]! ** 2).reduce((a, b) => a + b, 0);
    if (norm < least) [least, unit] = [norm, u];
  }
  const inK = (await hk.data()).slice();
  const inB = (await hb.data()).slice();
  for (let j = 0; j < width; j++) inK[j * units + unit] = w[j]! / spread;
  inB[unit] = -threshold / spread;
  for (let j = 0; j < k; j++) out[unit * k + j] = j === c ? 40 : 0;
  hidden.setWeights([tf.tensor2d(inK, hk.shape), tf.tensor1d(inB)]);
  probs.setWeights([tf.tensor2d(out, pk.shape), pb]);

  const after = {
    golden: scores(await predictLabels(net, golden), golden),
    drifted: scores(await predictLabels(net, drifted), drifted),
  };
  const passes =
    base.golden.accuracy - after.golden.accuracy <= GATE_DEFAULTS.goldenTolerance - margin &&
    after.golden.recall.every((r, i) => base.golden.recall[i]! - r <= GATE_DEFAULTS.recallTolerance - margin);
  if (!passes)
    throw new Error(
      `the constructed candidate fails the golden checks: accuracy ${base.golden.accuracy} → ${after.golden.accuracy}, ` +
        `recall ${JSON.stringify(base.golden.recall)} → ${JSON.stringify(after.golden.recall)}`,
    );
  const { files } = await exportModel(net);
  net.dispose();
  const meta: VersionMeta = {
    parent: stable,
    batches: [],
    metrics: {},
    labels,
    input,
    ...(stored.version.meta.policy ? { policy: stored.version.meta.policy } : {}),
    ...(stored.version.meta.output ? { output: stored.version.meta.output } : {}),
    trainer: { constructed: `${stable} with hidden unit ${unit} rewired to push drifted digits to "${label}"` },
    codeVersion: stored.version.meta.codeVersion,
  };
  return {
    files,
    meta,
    label,
    golden: { stable: base.golden.accuracy, candidate: after.golden.accuracy },
    drifted: { stable: 1 - base.drifted.accuracy, candidate: 1 - after.drifted.accuracy },
  };
}
