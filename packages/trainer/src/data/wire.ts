/**
 * Wire examples ↔ ExampleSet: the collector's `{ inputHash, input: { dtype, shape, data: base64 }, label, split }`
 * lines (`labels`, a label set, instead of `label` for a multi-label model) and the flat arrays training uses. Inputs are decoded with the version's InputSpec
 * (model input = raw × scale + offset, then per channel (x − mean) / std when given), the same normalisation the
 * runtime applies.
 */
import type { Example, InputSpec, Split } from '@edgeloop/protocol';
import { sha256Hex } from '@edgeloop/protocol';
import { modelInputShape } from '@edgeloop/protocol/model-io';
import { TrainerError } from '../errors.js';
import { exampleSize, type ExampleSet } from './examples.js';

export interface DecodedExamples {
  /** Examples by split ('train', 'val', 'golden'). */
  bySplit: Record<Split, ExampleSet>;
  /** Examples left out, with why (unknown label, wrong size). */
  skipped: { inputHash: string; why: string }[];
}

/**
 * Decodes wire examples for a model with `labels` and `input`; examples that do not fit are skipped, not fatal.
 * `multiLabel` (a sigmoid model) decodes label sets into multi-hot `yMulti` (an example with one `label` is the set of
 * that label); a single-label model skips examples with a label set.
 */
export function decodeExamples(
  examples: readonly Example[],
  labels: readonly string[],
  input: InputSpec,
  options: { multiLabel?: boolean } = {},
): DecodedExamples {
  const size = exampleSize(input.shape);
  const index = new Map(labels.map((l, i) => [l, i]));
  const multi = options.multiLabel === true;
  const parts: Record<Split, { x: number[][]; y: number[]; hot: number[][] }> = {
    train: { x: [], y: [], hot: [] },
    val: { x: [], y: [], hot: [] },
    golden: { x: [], y: [], hot: [] },
  };
  const skipped: DecodedExamples['skipped'] = [];
  const channel = channelNormalization(input);
  // Examples travel as the app captures them (input.shape, channels last); an NCHW model takes channels first.
  const nchw = input.layout === 'nchw' && input.shape.length >= 2;
  const channels = input.shape.at(-1)!;
  const shape = modelInputShape(input);
  for (const e of examples) {
    const set = e.labels ?? (multi && e.label !== undefined ? [e.label] : undefined);
    if (!multi && set) {
      skipped.push({ inputHash: e.inputHash, why: 'a label set (multi-label) for a single-label model' });
      continue;
    }
    const unknown = set
      ? set.find((l) => !index.has(l))
      : e.label !== undefined && !index.has(e.label)
        ? e.label
        : null;
    if (unknown !== null && unknown !== undefined) {
      skipped.push({ inputHash: e.inputHash, why: `label "${unknown}" is not one of the model's labels` });
      continue;
    }
    const hot = set ? set.map((l) => index.get(l)!) : null;
    const y = hot ? (hot.length ? Math.min(...hot) : 0) : index.get(e.label ?? '');
    if (y === undefined) {
      skipped.push({ inputHash: e.inputHash, why: 'no label' });
      continue;
    }
    const raw = decodeTensor(e.input);
    if (raw.length !== size) {
      skipped.push({
        inputHash: e.inputHash,
        why: `input has ${raw.length} values, the model takes ${size} (${input.shape.join('×')})`,
      });
      continue;
    }
    const x = new Array<number>(size);
    for (let i = 0; i < size; i++) x[i] = raw[i]! * input.normalize.scale + input.normalize.offset;
    if (channel)
      for (let i = 0; i < size; i++) x[i] = (x[i]! - channel.mean[channel.of(i)]!) / channel.std[channel.of(i)]!;
    parts[e.split].x.push(nchw ? channelsFirst(x, channels) : x);
    parts[e.split].y.push(y);
    if (hot) parts[e.split].hot.push(hot);
  }
  const k = labels.length;
  const build = (p: { x: number[][]; y: number[]; hot: number[][] }): ExampleSet => {
    const x = new Float32Array(p.x.length * size);
    p.x.forEach((row, i) => x.set(row, i * size));
    const set: ExampleSet = { x, y: Int32Array.from(p.y), count: p.y.length, shape, labels };
    if (multi) {
      set.yMulti = new Float32Array(p.y.length * k);
      p.hot.forEach((on, i) => on.forEach((j) => (set.yMulti![i * k + j] = 1)));
    }
    return set;
  };
  return { bySplit: { train: build(parts.train), val: build(parts.val), golden: build(parts.golden) }, skipped };
}

/** One example's values, channels last (`[..., C]`), reordered channels first (`[C, ...]`). */
function channelsFirst(x: number[], channels: number): number[] {
  const per = x.length / channels;
  const out = new Array<number>(x.length);
  for (let p = 0; p < per; p++) for (let c = 0; c < channels; c++) out[c * per + p] = x[p * channels + c]!;
  return out;
}

/**
 * Per-channel mean and std (after scale and offset), with the channel of each value: the last axis of input.shape,
 * as the app captures examples (whatever layout the model takes). Null when the spec has none.
 */
function channelNormalization(input: InputSpec): { mean: number[]; std: number[]; of: (i: number) => number } | null {
  const { mean, std } = input.normalize;
  if (!mean && !std) return null;
  const channels = input.shape.at(-1)!;
  const fill = (v: number[] | undefined, d: number) =>
    v ? (v.length === 1 ? Array<number>(channels).fill(v[0]!) : v) : Array<number>(channels).fill(d);
  const [m, s] = [fill(mean, 0), fill(std, 1)];
  if (m.length !== channels || s.length !== channels) {
    throw new TrainerError('ELT_BAD_DATA', [
      `input.normalize has ${m.length} means and ${s.length} stds for ${channels} channels (${input.layout ?? 'nhwc'} ${input.shape.join('×')})`,
    ]);
  }
  return { mean: m, std: s, of: (i) => i % channels };
}

/** The raw values of a wire tensor (float32 or uint8, little-endian). */
export function decodeTensor(t: Example['input']): Float32Array | Uint8Array {
  const bytes = Buffer.from(t.data, 'base64');
  if (t.dtype === 'uint8') return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const copy = new Uint8Array(bytes); // aligned copy for the Float32Array view
  return new Float32Array(copy.buffer, 0, Math.floor(copy.byteLength / 4));
}

/** Encodes an ExampleSet as wire examples (float32, one example's shape), each with the sha256 of its bytes. */
export async function encodeExamples(set: ExampleSet, split: Split): Promise<Example[]> {
  const size = exampleSize(set.shape);
  const out: Example[] = [];
  for (let i = 0; i < set.count; i++) {
    const bytes = new Uint8Array(set.x.slice(i * size, (i + 1) * size).buffer);
    out.push({
      inputHash: await sha256Hex(bytes),
      input: { dtype: 'float32', shape: [...set.shape], data: Buffer.from(bytes).toString('base64') },
      ...(set.yMulti
        ? { labels: set.labels.filter((_, j) => set.yMulti![i * set.labels.length + j]! > 0.5) }
        : { label: set.labels[set.y[i]!]! }),
      split,
    });
  }
  return out;
}
