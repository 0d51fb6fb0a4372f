/**
 * RFC 9562 UUIDv7 ids, made on the runtime's prediction path too (so by hand, not a library: BENCHMARKS.md,
 * runtime, has what the uuidv7 package costs there): 48-bit ms timestamp, a 42-bit counter (rand_a and the top of
 * rand_b, started at a random value each millisecond, method 1 of RFC 9562 §6.2) so ids made in the same
 * millisecond stay ordered, and 32 fresh random bits. Random bits come from a 4 KB pool filled by one
 * crypto.getRandomValues call per 1,024 words. The string is made by one String.fromCharCode over a reused
 * array of char codes whose timestamp part is written once per millisecond: one flat string, no concatenation.
 */
const HEX = new Uint8Array(16);
for (let i = 0; i < 16; i++) HEX[i] = '0123456789abcdef'.charCodeAt(i);
const pool = new Uint32Array(1024);
let at = pool.length;
let lastMs = -1;
let counter = 0;
// "tttttttt-tttt-7aaa-bbbb-bbbbrrrrrrrr": the dashes stay, the rest is written in place.
const chars: number[] = new Array<number>(36).fill(45);
let charsMs = -1;

const rand = (): number => {
  if (at === pool.length) {
    crypto.getRandomValues(pool);
    at = 0;
  }
  return pool[at++]!;
};

/** Writes `digits` hex digits of `v` (at most 32 bits) at `from`. */
const hex = (v: number, from: number, digits: number) => {
  for (let i = from + digits - 1; i >= from; i--) {
    chars[i] = HEX[v & 15]!;
    v >>>= 4;
  }
};

/**
 * A new UUIDv7 string: time-ordered, made on the device at capture time and never regenerated; monotonic within
 * this page, worker or process. `now` is the time it is made at.
 */
export function newId(now: number = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    // 41 random bits: the counter's top bit starts clear, leaving room to count up.
    counter = (rand() & 0xfff) * 0x20000000 + (rand() >>> 3);
  } else if (++counter > 0x3ffffffffff) {
    // 2^42 ids in one millisecond: borrow the next one.
    lastMs++;
    counter = 0;
  }
  if (lastMs !== charsMs) {
    charsMs = lastMs;
    hex(Math.floor(lastMs / 0x10000), 0, 8);
    hex(lastMs & 0xffff, 9, 4);
  }
  const hi = Math.floor(counter / 0x40000000);
  const lo = counter - hi * 0x40000000;
  hex(0x7000 | hi, 14, 4);
  hex(0x8000 | (lo >>> 16), 19, 4);
  hex(lo & 0xffff, 24, 4);
  hex(rand(), 28, 8);
  return String.fromCharCode.apply(null, chars);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Whether `id` is a canonical lower-case RFC 9562 UUID (any version). */
export function isUuid(id: string): boolean {
  return UUID_RE.test(id);
}

/** Milliseconds since epoch encoded in a UUIDv7, or `undefined` for another version. */
export function uuidv7Time(id: string): number | undefined {
  if (!isUuid(id) || id[14] !== '7') return undefined;
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

export const MODEL_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const SHA256_RE = /^[0-9a-f]{64}$/;
