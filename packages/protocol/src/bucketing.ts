/**
 * Canary bucketing shared by the collector and the runtime.
 *
 * `bucket = murmur3_32(model + ':' + deviceId, seed 0) % 10000` over the UTF-8 bytes of the key.
 * A device is in the canary iff `bucket < canaryPercent * 100`, so raising the percent only adds devices.
 */

const encoder = new TextEncoder();
// The collector hashes a key per manifest request: encode into one reused buffer rather than a new one each time.
let scratch = new Uint8Array(256);

function utf8(key: string): Uint8Array {
  if (key.length * 3 > scratch.length) scratch = new Uint8Array(key.length * 3);
  return scratch.subarray(0, encoder.encodeInto(key, scratch).written);
}

/** MurmurHash3 x86 32-bit of the UTF-8 bytes of `key` (or of raw bytes). */
export function murmur3_32(key: string | Uint8Array, seed = 0): number {
  const data = typeof key === 'string' ? utf8(key) : key;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const tail = data.length & ~3;
  for (let i = 0; i < tail; i += 4) {
    let k = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  const rest = data.length & 3;
  if (rest > 0) {
    let k = 0;
    if (rest === 3) k ^= data[tail + 2]! << 16;
    if (rest >= 2) k ^= data[tail + 1]! << 8;
    k ^= data[tail]!;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= data.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The device's bucket for a model, in [0, 10000). */
export function bucketOf(model: string, deviceId: string): number {
  return murmur3_32(`${model}:${deviceId}`, 0) % 10000;
}

/** Whether a device falls in the canary at `canaryPercent` (0–100, two decimals of precision). */
export function inCanary(model: string, deviceId: string, canaryPercent: number): boolean {
  return bucketOf(model, deviceId) < Math.round(canaryPercent * 100);
}
