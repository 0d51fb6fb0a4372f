/**
 * NumPy `.npy` files (format version 1.0), the arrays `edgeloop-trainer pull` writes for a Python trainer to read
 * with `numpy.load`: float32 inputs and int64 labels, C order, little-endian.
 */

/** Encodes `data` with `shape` as `.npy` bytes. */
export function encodeNpy(data: Float32Array | BigInt64Array, shape: readonly number[]): Uint8Array {
  const descr = data instanceof Float32Array ? '<f4' : '<i8';
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  // Magic (6) + version (2) + length (2) + header + '\n' is padded with spaces to a multiple of 64 bytes.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0, header.length & 0xff, header.length >> 8], 0);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

/** Labels as int64 for `.npy`. */
export function int64s(values: ArrayLike<number>): BigInt64Array {
  return BigInt64Array.from(Array.from(values, (v) => BigInt(v)));
}
