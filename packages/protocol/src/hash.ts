/** SHA-256 of bytes as lower-case hex, through WebCrypto (browsers, workers and Node ≥ 20 alike). */
export async function sha256Hex(data: ArrayBuffer | ArrayBufferView): Promise<string> {
  const view = ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data);
  const digest = await globalThis.crypto.subtle.digest('SHA-256', view as Uint8Array<ArrayBuffer>);
  let hex = '';
  for (const b of new Uint8Array(digest)) hex += b.toString(16).padStart(2, '0');
  return hex;
}
