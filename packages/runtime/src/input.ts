/** From the app's raw input to the model's tensor, and the raw bytes that are hashed and captured. */
import type { InputSpec } from '@edgeloop/protocol';
import type { ModelInput } from './types.js';
import { RuntimeError } from './errors.js';

/** Number of values in one example. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i]!;
  return n;
}

/** Throws `EL_RT_BAD_INPUT` unless the input has one example's number of values, naming the expected and actual shape. */
export function checkSize(input: ModelInput, spec: InputSpec): void {
  const n = sizeOf(spec.shape);
  if (input.length !== n) {
    throw new RuntimeError(
      'EL_RT_BAD_INPUT',
      `expected shape [${spec.shape.join(', ')}] (${n} values, the manifest's input.shape), got [${input.length}]`,
    );
  }
}

/** The bytes of a typed array (what `inputHash` is computed over). */
export function bytesOf(raw: Float32Array | Uint8Array): Uint8Array {
  return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
}

/**
 * Base64 of bytes: the engine's own `Uint8Array.prototype.toBase64` where there is one (Chromium 140+, Firefox
 * 133+, Safari 18.2+), far faster than building a string (BENCHMARKS.md, runtime), else `fromCharCode.apply`
 * over 32 KB chunks (under the engines' argument limits) and `btoa`.
 */
export function base64(bytes: Uint8Array): string {
  const native = (bytes as { toBase64?: () => string }).toBase64;
  if (typeof native === 'function') return native.call(bytes);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000) as unknown as number[]);
  return btoa(s);
}

/** A deterministic raw probe input (as an app passes it) for the sanity check after a model loads. */
export function probeInput(spec: InputSpec): Float32Array {
  const raw = new Float32Array(sizeOf(spec.shape));
  const bytes = spec.dtype === 'uint8';
  for (let i = 0; i < raw.length; i++) {
    const v = ((i * 7919) % 97) / 96;
    raw[i] = bytes ? Math.round(v * 255) : v;
  }
  return raw;
}
