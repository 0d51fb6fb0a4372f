/**
 * A candidate that passes the offline gate's golden checks but is worse live, made from the stable model: one class's
 * output bias is raised until that class steals drifted digits (whose margins are thin) while the clean golden
 * digits (wide margins) barely move. Golden accuracy and every class's golden recall stay within the gate's
 * tolerances of stable's; on the drifted traffic users draw, the candidate is wrong much more often.
 */
import * as tf from '@tensorflow/tfjs';
import {
  GATE_DEFAULTS,
  CollectorClient,
  decodeExamples,
  exportModel,
  predictProbs,
  storedModel,
  type ArtifactFile,
  type ExampleSet,
} from '@edgeloop/trainer';
import type { VersionMeta } from '@edgeloop/protocol';

export interface WorseLive {
  files: ArtifactFile[];
  meta: VersionMeta;
  /** The class whose bias was raised, and by how much (in logits). */
  label: string;
  shift: number;
  golden: { stable: number; candidate: number };
  /** Error rate on the drifted digits. */
  drifted: { stable: number; candidate: number };
}

/** Predicted class per example when `shift` is added to class `c`'s logit (log-probability). */
function predicted(probs: Float32Array, k: number, c: number, shift: number): Int32Array {
  const out = new Int32Array(probs.length / k);
  for (let i = 0; i < out.length; i++) {
    let best = -1;
    let top = -Infinity;
    for (let j = 0; j < k; j++) {
      const z = Math.log(Math.max(probs[i * k + j]!, 1e-30)) + (j === c ? shift : 0);
      if (z > top) [top, best] = [z, j];
    }
    out[i] = best;
  }
  return out;
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

/**
 * Searches the class and shift that make `stable` the most wrong on `drifted` while its golden accuracy stays within
 * `margin` of the gate's golden tolerance and no class's golden recall drops by more than the recall tolerance less
 * `margin`; exports that model (TF.js Layers and a parity-checked ONNX) with stable's meta.
 */
export async function worseLiveCandidate(
  client: CollectorClient,
  model: string,
  stable: string,
  drifted: ExampleSet,
  margin = 0.001,
): Promise<WorseLive> {
  const stored = await storedModel(client, model, stable);
  const { labels, input } = stored.version.meta;
  const golden = decodeExamples((await client.golden(model)) ?? [], labels, input).bySplit.golden;
  const net = await stored.load();
  const k = labels.length;
  const [pg, pd] = [await predictProbs(net, golden), await predictProbs(net, drifted)];
  const base = { golden: scores(predicted(pg, k, 0, 0), golden), drifted: scores(predicted(pd, k, 0, 0), drifted) };
  let best: { c: number; shift: number; golden: number; drifted: number } | null = null;
  for (let c = 0; c < k; c++) {
    for (let shift = 0.25; shift <= 12; shift += 0.25) {
      const g = scores(predicted(pg, k, c, shift), golden);
      const passes =
        base.golden.accuracy - g.accuracy <= GATE_DEFAULTS.goldenTolerance - margin &&
        g.recall.every((r, i) => base.golden.recall[i]! - r <= GATE_DEFAULTS.recallTolerance - margin);
      if (!passes) break;
      const d = scores(predicted(pd, k, c, shift), drifted).accuracy;
      if (!best || d < best.drifted) best = { c, shift, golden: g.accuracy, drifted: d };
    }
  }
  if (!best) throw new Error('no class shift keeps the golden checks passing');
  const layer = net.getLayer('probs');
  const [kernel, bias] = layer.getWeights();
  const b = (await bias!.data()).slice();
  b[best.c]! += best.shift;
  layer.setWeights([kernel!, tf.tensor1d(b)]);
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
    trainer: { constructed: `${stable} with class ${labels[best.c]}'s output bias raised by ${best.shift}` },
    codeVersion: stored.version.meta.codeVersion,
  };
  return {
    files,
    meta,
    label: labels[best.c]!,
    shift: best.shift,
    golden: { stable: base.golden.accuracy, candidate: best.golden },
    drifted: { stable: 1 - base.drifted.accuracy, candidate: 1 - best.drifted },
  };
}
