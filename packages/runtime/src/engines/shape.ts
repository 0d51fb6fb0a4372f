/** Load-time check of a model's declared input against what the runtime will feed it. */
import { RuntimeError } from '../errors.js';

/** A declared dimension: a number, or a name / null / -1 for one the model leaves open. */
type Dim = number | string | null;

const fits = (declared: readonly Dim[], fed: readonly number[]) =>
  declared.length === fed.length && declared.every((d, i) => typeof d !== 'number' || d < 0 || d === fed[i]);

const show = (dims: readonly Dim[]) =>
  `[${dims.map((d) => (typeof d === 'number' && d >= 0 ? d : typeof d === 'string' && d ? d : '?')).join(', ')}]`;

/**
 * Throws `EL_RT_BAD_INPUT` when the model's declared input (batch first) cannot take one example of `shape`,
 * naming both shapes, and the layout that would fit when moving the channel axis makes them match.
 */
export function checkDeclaredInput(
  name: string,
  declared: readonly Dim[] | undefined,
  shape: readonly number[] | undefined,
): void {
  if (!declared || declared.length === 0 || !shape) return;
  const fed = [1, ...shape];
  if (fits(declared, fed)) return;
  let hint =
    "set meta.input.shape to one example of the model's input (channels last) and meta.input.layout to the model's layout";
  if (shape.length >= 2) {
    const first = [1, shape[shape.length - 1]!, ...shape.slice(0, -1)];
    const last = [1, ...shape.slice(1), shape[0]!];
    if (fits(declared, first))
      hint =
        'the model takes channels first: publish it with meta.input.layout "nchw" (input.shape stays channels last)';
    else if (fits(declared, last))
      hint =
        'the model takes channels last: publish it with meta.input.layout "nhwc" (or none), input.shape channels last';
  }
  throw new RuntimeError(
    'EL_RT_BAD_INPUT',
    `the model's input "${name}" takes ${show(declared)}, the runtime feeds ${show(fed)} (from the manifest's input): ${hint}`,
  );
}
