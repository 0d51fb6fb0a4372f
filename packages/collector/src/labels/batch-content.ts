/**
 * A batch's content is its NDJSON export, byte for byte: examples sorted by inputHash, one canonical JSON line
 * each. Its sha256 is therefore what the trainer can check its download against, and the same labels give the
 * same hash on either store.
 */
import { createHash, hash } from 'node:crypto';
import { parseLabelSet, type BatchCounts, type Split, type Tensor } from '@edgeloop/protocol';
import type { Outcome, Resolution } from './resolver.js';
import { splitOf } from './split.js';

export interface BuiltExample {
  inputHash: string;
  /** The label, or a label set in its canonical form (see `canonicalLabelSet`): what `batch_examples.label` stores. */
  label: string;
  split: Split;
  /** The NDJSON line, newline included. */
  line: string;
  /** The prediction event whose input was used; null for golden examples, which are uploaded with their input. */
  sourceEventId: string | null;
  /** Lineage: JSON of the corrections and reviews that decided the label and how each was used. */
  sources: string | null;
  outcome: Outcome | 'golden';
}

export interface BuiltBatch {
  examples: BuiltExample[];
  sha256: string;
  counts: BatchCounts;
}

/** A stored prediction that carries an input for this hash, with that input (parsed JSON). */
export interface InputCandidate {
  eventId: string;
  input: unknown;
}

const BYTES_PER: Record<Tensor['dtype'], number> = { float32: 4, uint8: 1 };

/** The tensor with its keys in canonical order, or undefined when `value` is not a tensor. */
export function canonicalTensor(value: unknown): Tensor | undefined {
  const t = value as Partial<Tensor> | null | undefined;
  if (!t || typeof t !== 'object' || typeof t.data !== 'string' || !Array.isArray(t.shape)) return undefined;
  if (t.dtype !== 'float32' && t.dtype !== 'uint8') return undefined;
  return { dtype: t.dtype, shape: t.shape, data: t.data };
}

/** Whether the tensor's bytes have the size its shape says and hash to `inputHash`. */
export function tensorMatches(input: Tensor, inputHash: string): boolean {
  const bytes = Buffer.from(input.data, 'base64');
  const size = input.shape.reduce((n, d) => n * d, BYTES_PER[input.dtype]);
  // crypto.hash is the one-shot form: a first freeze checks tens of thousands of inputs.
  return bytes.length === size && hash('sha256', bytes, 'hex') === inputHash;
}

/**
 * One export line: keys in a fixed order so that the line, and the batch's sha256, are reproducible. A label set
 * (`label` in its canonical form) is exported as `labels`.
 */
export function exampleLine(e: { inputHash: string; input: Tensor; label: string; split: Split }): string {
  const set = parseLabelSet(e.label);
  return (
    JSON.stringify({
      inputHash: e.inputHash,
      input: { dtype: e.input.dtype, shape: e.input.shape, data: e.input.data },
      ...(set ? { labels: set } : { label: e.label }),
      split: e.split,
    }) + '\n'
  );
}

function digest(examples: readonly BuiltExample[]): string {
  const h = createHash('sha256');
  for (const e of examples) h.update(e.line);
  return h.digest('hex');
}

/**
 * Turns resolved labels into a batch: each labeled input takes the first candidate input whose bytes match
 * its hash; inputs without one (capture off, or forged bytes) are counted in `withoutInput`.
 */
export function buildBatch(
  resolution: Resolution,
  candidates: ReadonlyMap<string, readonly InputCandidate[]>,
): BuiltBatch {
  const examples: BuiltExample[] = [];
  let withoutInput = 0;
  let events = 0;
  for (const d of resolution.decisions) {
    if (d.label === null) continue;
    let chosen: { eventId: string; input: Tensor } | undefined;
    for (const c of candidates.get(d.inputHash) ?? []) {
      const input = canonicalTensor(c.input);
      if (input && tensorMatches(input, d.inputHash)) {
        chosen = { eventId: c.eventId, input };
        break;
      }
    }
    if (!chosen) {
      withoutInput++;
      continue;
    }
    const split = splitOf(d.inputHash);
    events += 1 + d.lineage.length; // as lineageOf lists them: the input, then each source
    examples.push({
      inputHash: d.inputHash,
      label: d.label,
      split,
      line: exampleLine({ inputHash: d.inputHash, input: chosen.input, label: d.label, split }),
      sourceEventId: chosen.eventId,
      sources: JSON.stringify(d.lineage),
      outcome: d.outcome,
    });
  }
  const counts: BatchCounts = {
    ...tally(examples),
    tiesSentToReview: resolution.tiesSentToReview,
    cappedByDevice: resolution.cappedByDevice,
    withoutInput,
    excludedGolden: resolution.excludedGolden,
    events,
  };
  return { examples, sha256: digest(examples), counts };
}

/** A golden set's content: its examples sorted by inputHash with split 'golden' (the caller has checked them). */
export function buildGolden(
  items: readonly { inputHash: string; input: Tensor; label: string }[],
  split: 'golden' | 'train' = 'golden',
): BuiltBatch {
  const examples = [...items]
    .sort((a, b) => (a.inputHash < b.inputHash ? -1 : a.inputHash > b.inputHash ? 1 : 0))
    .map((e): BuiltExample => ({
      inputHash: e.inputHash,
      label: e.label,
      split,
      line: exampleLine({ ...e, split }),
      sourceEventId: null,
      sources: null,
      outcome: 'golden',
    }));
  const counts: BatchCounts = {
    ...tally(examples),
    tiesSentToReview: 0,
    cappedByDevice: 0,
    withoutInput: 0,
    excludedGolden: 0,
  };
  return { examples, sha256: digest(examples), counts };
}

function tally(examples: readonly BuiltExample[]) {
  // Labels are user text: a label named "__proto__" must stay a plain key.
  const byLabel: Record<string, number> = Object.create(null) as Record<string, number>;
  let train = 0;
  let val = 0;
  let reviewed = 0;
  let voted = 0;
  for (const e of examples) {
    // A label set counts once for each of its labels (and an empty set for none).
    for (const label of parseLabelSet(e.label) ?? [e.label]) byLabel[label] = (byLabel[label] ?? 0) + 1;
    if (e.split === 'train') train++;
    else if (e.split === 'val') val++;
    if (e.outcome === 'reviewed') reviewed++;
    else if (e.outcome === 'voted') voted++;
  }
  return { examples: examples.length, train, val, byLabel, reviewed, voted };
}
