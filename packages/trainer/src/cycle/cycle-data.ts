/**
 * What every retraining cycle (single-label and multi-label) starts from: the new batches' examples and the golden
 * set, decoded with the stable version's labels and input spec; and how the new training split is held out.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Example } from '@edgeloop/protocol';
import type { CollectorClient } from '../collector/client.js';
import type { ExampleSet } from '../data/examples.js';
import type { DecodedExamples } from '../data/wire.js';
import { TrainerError } from '../errors.js';
import { exportModel, type ExportedModel } from '../export/artifacts.js';
import { onnxNames, type StableModel } from './lineage.js';
import type { Reporter } from './reporter.js';

/** Percent of the new batches' training split held out for the gate, then for choosing (by content hash). */
export const HOLDOUT = { gate: 8, select: 15 };

/**
 * A batch with fewer examples than this to train on holds out SMALL_BATCH_GATE percent of them for the gate instead
 * of HOLDOUT.gate: 8 % of a few dozen corrections (a second cycle on a drift the first one learned) is one to four
 * examples, on which no gain can be shown, so the gate refused what it could not judge. The drift suite measured it
 * (BENCHMARKS.md). A later cycle splits earlier corrections with HOLDOUT's bounds, never above these, so what it holds
 * out of them was held out when they were new too.
 */
export const SMALL_BATCH = 60;
export const SMALL_BATCH_GATE = 25;

/** The cumulative percent bounds (gate, then choosing) that splitByContent takes for a training split of `count`. */
export function holdoutBounds(count: number): [number, number] {
  const gate = count < SMALL_BATCH ? SMALL_BATCH_GATE : HOLDOUT.gate;
  return [gate, gate + HOLDOUT.select];
}

/**
 * The pending batches' examples and the model's golden set, decoded by `decode`; says what was skipped. Throws
 * ELT_EMPTY_BATCH when nothing is left to train on and ELT_NO_GOLDEN_SET when the model has no golden set.
 */
export async function readNewData(
  client: CollectorClient,
  work: {
    stable: { version: { model: string; version: string } };
    pending: readonly { id: string }[];
    examples: number;
  },
  decode: (examples: readonly Example[]) => DecodedExamples,
  r: Reporter,
  kind = '',
): Promise<{ batchIds: string[]; fresh: DecodedExamples; golden: ExampleSet }> {
  const { model, version } = work.stable.version;
  const batchIds = work.pending.map((b) => b.id);
  r.step(`stable is ${version}${kind}; new batches: ${batchIds.join(', ')} (${work.examples} examples)`);
  const fresh = decode((await Promise.all(batchIds.map((id) => client.batchExamples(id)))).flat());
  if (fresh.skipped.length)
    r.step(
      `skipped ${fresh.skipped.length} examples (${fresh.skipped[0]!.why}${fresh.skipped.length > 1 ? ', …' : ''})`,
    );
  if (fresh.bySplit.train.count === 0)
    throw new TrainerError('ELT_EMPTY_BATCH', [
      model,
      `the new batches hold no usable training example (${fresh.skipped.length} skipped)`,
    ]);
  const goldenWire = await client.golden(model);
  if (!goldenWire) throw new TrainerError('ELT_NO_GOLDEN_SET', [model, model]);
  return { batchIds, fresh, golden: decode(goldenWire).bySplit.golden };
}

/**
 * Exports a candidate as its stable version is stored: TF.js Layers, and ONNX with stable's input and output names
 * whenever stable has an ONNX artifact (a user's model may be TF.js only: see register.ts), parity-checked on the
 * golden inputs.
 */
export async function exportAsStable(
  net: tf.LayersModel,
  stable: StableModel,
  golden: ExampleSet,
): Promise<ExportedModel> {
  const onnx = stable.version.artifacts.some((a) => a.format === 'onnx');
  const names = onnxNames(stable.config);
  return exportModel(net, golden.x, { onnx, ...(names ? { names } : {}) });
}

/**
 * A gate measure as a version's metrics: the candidate's value under `name` and stable's under `stable.<name>`;
 * nothing when the gate did not take it (no such data).
 */
export function sideBySide(
  name: string,
  candidate: number | undefined,
  stable: number | undefined,
): Record<string, number> {
  return candidate === undefined || stable === undefined ? {} : { [name]: candidate, [`stable.${name}`]: stable };
}

/** The metrics that are finite numbers (what a version's meta can hold). */
export function finite(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v)));
}
