/**
 * Golden set uploads: NDJSON lines or a JSON array (or `{ examples }`) of `{ inputHash, input, label }`, or of
 * `{ inputHash, input, labels }` for a multi-label model (one kind per set). Every example is checked (closed schema,
 * bytes that match its shape and hash, no input twice) before anything is stored, so a golden set is either whole or
 * absent.
 */
import Type from 'typebox';
import { Ajv } from 'ajv';
import { canonicalLabelSet, Label, LabelSet, labelOrLabelsProblem, Sha256Hex, Split, Tensor } from '@edgeloop/protocol';
import { buildGolden, tensorMatches, type BuiltBatch } from './batch-content.js';
import { EL_INVALID_EXAMPLE } from '../errors.js';
import { unstorableMessage, unstorablePath } from '../text.js';

export const MAX_GOLDEN_EXAMPLES = 100_000;

const GoldenExample = Type.Object(
  {
    inputHash: Sha256Hex,
    input: Tensor,
    label: Type.Optional(Label),
    labels: Type.Optional(LabelSet),
    split: Type.Optional(Split),
  },
  { additionalProperties: false },
);
const check = new Ajv({ coerceTypes: false, strict: false, allErrors: false }).compile<{
  inputHash: string;
  input: Tensor;
  label?: string;
  labels?: string[];
}>(GoldenExample as object);

type Item = { where: string; value: unknown };

function items(body: unknown): Item[] {
  if (typeof body === 'string') {
    const out: Item[] = [];
    body.split('\n').forEach((text, i) => {
      if (text.trim() === '') return;
      const where = `on line ${i + 1}`;
      try {
        out.push({ where, value: JSON.parse(text) as unknown });
      } catch (err) {
        throw new EL_INVALID_EXAMPLE(where, `not JSON (${(err as Error).message})`);
      }
    });
    return out;
  }
  const list = Array.isArray(body) ? body : (body as { examples?: unknown } | null)?.examples;
  if (!Array.isArray(list))
    throw new EL_INVALID_EXAMPLE('set', 'send NDJSON lines, a JSON array, or { "examples": [...] }');
  return list.map((value, i) => ({ where: `at index ${i}`, value }));
}

/**
 * Validates an upload and returns its content (sorted by inputHash, split 'golden'; base data: split 'train');
 * throws EL_INVALID_EXAMPLE.
 */
export function parseGolden(body: unknown, split: 'golden' | 'train' = 'golden'): BuiltBatch {
  const list = items(body);
  if (list.length === 0)
    throw new EL_INVALID_EXAMPLE(
      'set',
      `a ${split === 'golden' ? 'golden set' : 'base data set'} needs at least one example`,
    );
  if (list.length > MAX_GOLDEN_EXAMPLES) throw new EL_INVALID_EXAMPLE('set', `at most ${MAX_GOLDEN_EXAMPLES} examples`);
  const seen = new Set<string>();
  let first: { where: string; multi: boolean } | undefined;
  const examples = list.map(({ where, value }) => {
    if (!check(value)) {
      const e = check.errors?.[0];
      throw new EL_INVALID_EXAMPLE(where, `${e?.instancePath || '/'} ${e?.message ?? 'is invalid'}`);
    }
    const problem = labelOrLabelsProblem(value);
    if (problem) throw new EL_INVALID_EXAMPLE(where, `/ ${problem}`);
    const multi = value.labels !== undefined;
    first ??= { where, multi };
    if (multi !== first.multi)
      throw new EL_INVALID_EXAMPLE(
        where,
        `it has "${multi ? 'labels' : 'label'}" but the example ${first.where} has "${first.multi ? 'labels' : 'label'}": a set is for one model, single-label or multi-label`,
      );
    if (!tensorMatches(value.input, value.inputHash)) {
      throw new EL_INVALID_EXAMPLE(where, 'the input bytes do not fill its shape or do not hash (sha256) to inputHash');
    }
    const unstorable = unstorablePath(value);
    if (unstorable !== null) throw new EL_INVALID_EXAMPLE(where, unstorableMessage(unstorable));
    if (seen.has(value.inputHash)) throw new EL_INVALID_EXAMPLE(where, `input ${value.inputHash} appears twice`);
    seen.add(value.inputHash);
    // A label set is stored in its canonical form; the export writes it back as `labels`.
    const label = value.labels ? canonicalLabelSet(value.labels) : value.label!;
    return { inputHash: value.inputHash, input: value.input, label };
  });
  return buildGolden(examples, split);
}
