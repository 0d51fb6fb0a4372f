/**
 * Checks of a version's input description that the collector makes at publish and the runtime at load, so a
 * contradictory description is refused with the same words on both sides.
 */
import type { InputSpec } from './schemas.js';

/** Why `input` cannot be applied as described (per-channel statistics that do not fit the channels), or `null`. */
export function inputSpecProblem(input: InputSpec): string | null {
  const channels = input.shape[input.shape.length - 1]!;
  for (const key of ['mean', 'std'] as const) {
    const v = input.normalize[key];
    if (v && v.length !== 1 && v.length !== channels) {
      return `input.normalize.${key} has ${v.length} values for ${channels} channels (the last axis of input.shape [${input.shape.join(', ')}]): give one per channel, or one for all`;
    }
  }
  if (input.layout === 'nchw' && input.shape.length < 2)
    return `input.layout "nchw" needs a channel axis: input.shape [${input.shape.join(', ')}] has one axis`;
  return null;
}

/** The shape the model's first input takes for one example (no batch dimension): `shape`, channels moved first for `nchw`. */
export function modelInputShape(input: InputSpec): number[] {
  const s = input.shape;
  return input.layout === 'nchw' ? [s[s.length - 1]!, ...s.slice(0, -1)] : [...s];
}
