/**
 * RFC 9562 UUIDv7 ids for the prediction path: 48-bit ms timestamp, a 42-bit counter (rand_a and the top of
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

/** A new UUIDv7 string, monotonic within this page or worker; `now` is the time it is made at. */
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

/**
 * The id of one stats event: a UUIDv7 whose time is the window's start and whose other bits are a hash of the
 * runtime's random token, the window's number and the version. The worker and the page (which sends its copy
 * of the open window at pagehide, in case the worker dies first) make the same id for the same window, so the
 * collector counts a window once whoever sends it, and however their messages crossed.
 */
export function statsId(token: string, from: number, seq: number, version: string): string {
  const key = `${token}:${seq}:${version}`;
  // FNV-1a over the key from three offset bases: 74 of its 96 bits fill the id.
  const fnv = (h: number) => {
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
    return h;
  };
  const a = fnv(0x811c9dc5);
  const b = fnv(0x050c5d1f);
  const c = fnv(0x6b43a9b5);
  const h = (v: number, n: number) => (v >>> 0).toString(16).padStart(8, '0').slice(8 - n);
  const ms = Math.max(0, Math.floor(from));
  const t = Math.floor(ms / 0x10000).toString(16).padStart(8, '0').slice(-8) + (ms & 0xffff).toString(16).padStart(4, '0');
  return `${t.slice(0, 8)}-${t.slice(8)}-7${h(a, 3)}-${(0x8000 | (b & 0x3fff)).toString(16)}-${h(b >>> 16, 4)}${h(c, 8)}`;
}

/** A random token (16 hex digits) for `statsId`. */
export function statsToken(): string {
  return (rand() >>> 0).toString(16).padStart(8, '0') + (rand() >>> 0).toString(16).padStart(8, '0');
}
