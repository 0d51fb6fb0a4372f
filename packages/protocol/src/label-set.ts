/**
 * Label sets of multi-label models, in one canonical text form: the labels sorted (as JavaScript sorts strings),
 * each once, as a JSON array. Votes on an input's label set compare these strings, and stores keep them where a
 * single-label model keeps its label.
 */

/** The canonical form of a label set: `["a","b"]` for `['b', 'a', 'b']`. */
export function canonicalLabelSet(labels: readonly string[]): string {
  return JSON.stringify([...new Set(labels)].sort());
}

/** The labels of a canonical label set, or `null` when `text` is not one (a single label, say). */
export function parseLabelSet(text: string): string[] | null {
  if (!text.startsWith('[')) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(value) || !value.every((l): l is string => typeof l === 'string')) return null;
  return canonicalLabelSet(value) === text ? value : null;
}

/**
 * Why an object with optional `label` and `labels` does not carry exactly one of them (a correction, an example, a
 * review), or `null` when it does.
 */
export function labelOrLabelsProblem(value: { label?: unknown; labels?: unknown }): string | null {
  const [one, set] = [value.label !== undefined, value.labels !== undefined];
  if (one && set) return 'must have either "label" (single-label models) or "labels" (multi-label models), not both';
  if (!one && !set)
    return 'must have property "label" (single-label models) or "labels" (multi-label models, a label set)';
  return null;
}
