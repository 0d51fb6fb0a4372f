/**
 * The train/validation split is a pure function of the input, so an input keeps its split in every batch and
 * on every collector: a validation example never leaks into training through a later batch.
 */
import type { Split } from '@edgeloop/protocol';

/** Percentage of inputs that go to validation. */
export const VAL_PERCENT = 10;

/** 'val' for about 10 % of inputs, 'train' for the rest, decided by the input's sha256 alone. */
export function splitOf(inputHash: string): Exclude<Split, 'golden'> {
  // inputHash is a sha256 hex digest, so its leading 32 bits are already uniformly distributed.
  return parseInt(inputHash.slice(0, 8), 16) % 100 < VAL_PERCENT ? 'val' : 'train';
}
