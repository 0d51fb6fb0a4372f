/**
 * What every retraining cycle (single-label and multi-label) starts from: the new batches' examples and the golden
 * set, decoded with the stable version's labels and input spec; and how the new training split is held out.
 */
import type * as tf from '@tensorflow/tfjs';
import {
  DEFAULT_SETTLED_MS,
  type Batch,
  type Example,
  type UnreportedPrediction,
  type Version,
} from '@edgeloop/protocol';
import type { CollectorClient } from '../collector/client.js';
import { concat, pick, type ExampleSet } from '../data/examples.js';
import { splitByContent } from '../data/holdout.js';
import { loadMnist } from '../data/mnist.js';
import type { DecodedExamples } from '../data/wire.js';
import { TrainerError } from '../errors.js';
import { exportModel, type ExportedModel } from '../export/artifacts.js';
import { onnxNames, trainedBatches, type StableModel } from './lineage.js';
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

/** Decodes wire examples with the stable version's labels and input spec (as label sets for a multi-label model). */
export type Decode = (examples: readonly Example[]) => DecodedExamples;

/**
 * How a cycle holds out what it trains on. The new batches' training split: held out for the gate (with the
 * batches' validation split, so the gain check has enough examples to tell a gain from chance), then to choose
 * (early stopping, candidate, mixing coefficient), the rest trained on; the fixed recipe (`search` false) trains on
 * all of it. Earlier corrections a cycle rehearses are split by the same content hash, so their held-out parts have
 * never been trained on: choosing sees them with the new held-out examples, and the gate checks that the candidate
 * does not lose them. `none` is an empty set of the new examples' kind (label sets or classes).
 */
export function holdOut(
  fresh: DecodedExamples['bySplit'],
  earlier: { train: ExampleSet; val: ExampleSet },
  search: boolean,
) {
  const none = pick(fresh.train, []);
  const [gateExtra = none, select = none, fit = fresh.train] = search
    ? splitByContent(fresh.train, holdoutBounds(fresh.train.count))
    : [];
  const [earlierGate = none, earlierSelect = none, earlierFit = none] = earlier.train.count
    ? splitByContent(earlier.train, [HOLDOUT.gate, HOLDOUT.gate + HOLDOUT.select])
    : [];
  return {
    none,
    fit,
    select,
    gateFresh: gateExtra.count ? concat(fresh.val, gateExtra) : fresh.val,
    earlierFit,
    earlierSelect,
    earlierHeld: earlier.val.count || earlierGate.count ? concat(earlier.val, earlierGate) : none,
  };
}

/** The non-empty sets joined (the first set when all are empty). */
export function joined(...sets: ExampleSet[]): ExampleSet {
  const parts = sets.filter((p) => p.count > 0);
  return parts.length <= 1 ? (parts[0] ?? sets[0]!) : concat(...parts);
}

/** The most recent earlier corrections a cycle rehearses (examples); older ones stay in the replay pool. */
export const EARLIER_MAX = 3000;

/**
 * Earlier data: the replay pool (the base data set) and the earlier corrections (the batches earlier versions trained
 * on), newest batches first up to EARLIER_MAX, to rehearse beside the new ones. The base data is MNIST's train part
 * for the bootstrapped digits model, else the set uploaded for the model (`edgeloop-trainer base-data`). A model
 * without a base data set replays its earlier corrections instead (they are all the old data it has), and so does a
 * cycle that does not rehearse (the fixed recipe). `none` is an empty set of the right kind.
 */
export async function replayData(
  client: CollectorClient,
  work: { stable: StableModel; batches: readonly Batch[]; versions: readonly Version[] },
  decode: Decode,
  rehearse: boolean,
  none: ExampleSet,
): Promise<{ pool: ExampleSet; earlier: { train: ExampleSet; val: ExampleSet }; source: string | null }> {
  const { stable } = work;
  let base: ExampleSet;
  let source: string | null;
  if (stable.config.baseData === 'mnist:train') [base, source] = [loadMnist('train'), 'mnist:train'];
  else {
    const uploaded = await client.baseData(stable.version.model);
    base = decode(uploaded?.examples.map((e) => ({ ...e, split: 'train' as const })) ?? []).bySplit.train;
    source = uploaded ? `base-data:${uploaded.id}` : null;
  }
  const recent = (sets: ExampleSet[]) => {
    const kept: ExampleSet[] = [];
    let n = 0;
    for (const set of sets.reverse()) {
      if (set.count === 0 || n >= EARLIER_MAX) continue;
      kept.push(set.count + n > EARLIER_MAX ? pick(set, [...Array(EARLIER_MAX - n).keys()]) : set);
      n += kept.at(-1)!.count;
    }
    return joined(none, ...kept);
  };
  const decoded = await Promise.all(
    trainedBatches(work.batches, work.versions).map(async (b) => decode(await client.batchExamples(b.id)).bySplit),
  );
  if (rehearse && base.count > 0)
    return {
      pool: base,
      earlier: { train: recent(decoded.map((d) => d.train)), val: recent(decoded.map((d) => d.val)) },
      source,
    };
  return {
    pool: joined(none, ...decoded.map((d) => d.train), base),
    earlier: { train: none, val: none },
    source: base.count > 0 ? source : null,
  };
}

/**
 * Percent of the accepted predictions held out to choose between candidates (by content hash); the rest is trained
 * on. None is held out for the gate: stable gets them right by construction, so a candidate can only lose there, and
 * a share large enough to tell its losses from chance takes most of them from training (with 30 % held out for the
 * gate, the first cycle on thick strokes was refused: BENCHMARKS.md).
 */
const ACCEPTED_SELECT = 30;

/**
 * The accepted predictions (see RetrainOptions.accepted) of stable, then of its parent, and so on up the lineage while
 * fewer than `limit` are found: the drifted inputs earlier versions answered right stay training data for the cycles
 * after theirs, as their corrections do. An input answered by two versions counts once, with the newer answer.
 * Decoded by `decode`, each labeled with the answer its version gave: a multi-label (sigmoid) model's with the
 * predicted set its device sent (`output.labels`); one sent without it (its top label alone) is not used.
 */
export async function acceptedData(
  client: CollectorClient,
  stable: StableModel,
  versions: readonly Version[],
  decode: Decode,
  o: { settledMs?: number; limit?: number } = {},
): Promise<ExampleSet> {
  const { model, meta } = stable.version;
  const multi = meta.output?.kind === 'sigmoid';
  const limit = o.limit ?? 2000;
  const byName = new Map(versions.map((v) => [v.version, v]));
  const items = new Map<string, UnreportedPrediction>();
  for (
    let v: Version | undefined = stable.version;
    v && items.size < limit;
    v = v.meta.parent ? byName.get(v.meta.parent) : undefined
  ) {
    const page = await client.unreported(model, v.version, {
      settledMs: o.settledMs ?? DEFAULT_SETTLED_MS,
      limit: limit - items.size,
    });
    for (const i of page) if (!items.has(i.inputHash) && (!multi || i.labels)) items.set(i.inputHash, i);
  }
  return decode(
    [...items.values()].map(({ inputHash, input, label, labels }) => ({
      inputHash,
      input,
      ...(multi ? { labels: labels! } : { label }),
      split: 'train' as const,
    })),
  ).bySplit.train;
}

/** The accepted predictions held out to choose (ACCEPTED_SELECT percent, by content) and the rest, to train on. */
export function splitAccepted(accepted: ExampleSet): { select: ExampleSet; fit: ExampleSet } {
  const none = pick(accepted, []);
  const [select = none, fit = none] = accepted.count ? splitByContent(accepted, [ACCEPTED_SELECT]) : [];
  return { select, fit };
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
