/**
 * A synchronous SHA-256 for `pagehide`, where nothing can wait for WebCrypto's promise (@noble/hashes). The core
 * imports this module once it starts, so it loads as a chunk of its own, off the initial bundle; the prediction
 * path keeps WebCrypto.
 */
import { sha256 } from '@noble/hashes/sha2';

/** SHA-256 of `bytes` as lower-case hex, now. */
export function sha256HexNow(bytes: Uint8Array): string {
  let hex = '';
  for (const b of sha256(bytes)) hex += b.toString(16).padStart(2, '0');
  return hex;
}
