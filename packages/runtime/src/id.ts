/**
 * RFC 9562 UUIDv7 ids for the prediction path: 48-bit ms timestamp, a 42-bit counter (rand_a and the top of
 * rand_b, started at a random value each millisecond, method 1 of RFC 9562 §6.2) so ids made in the same
 * millisecond stay ordered, and 32 fresh random bits. Random bits come from a 4 KB pool filled by one
 * crypto.getRandomValues call per 1,024 words.
 */
const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i + 256).toString(16).slice(1));
const pool = new Uint32Array(1024);
let at = pool.length;
let lastMs = -1;
let counter = 0;

const rand = (): number => {
  if (at === pool.length) {
    crypto.getRandomValues(pool);
    at = 0;
  }
  return pool[at++]!;
};
const h4 = (v: number) => HEX[(v >>> 8) & 255]! + HEX[v & 255]!;
const h8 = (v: number) => h4(v >>> 16) + h4(v);

/** A new UUIDv7 string, monotonic within this page or worker. */
export function newId(): string {
  let ms = Date.now();
  if (ms > lastMs) {
    lastMs = ms;
    // 41 random bits: the counter's top bit starts clear, leaving room to count up.
    counter = (rand() & 0xfff) * 0x20000000 + (rand() >>> 3);
  } else if (++counter > 0x3ffffffffff) {
    // 2^42 ids in one millisecond: borrow the next one.
    lastMs++;
    counter = 0;
  }
  ms = lastMs;
  const hi = Math.floor(counter / 0x40000000);
  const lo = counter - hi * 0x40000000;
  return h8(Math.floor(ms / 0x10000)) + '-' + h4(ms) + '-' + h4(0x7000 | hi) + '-' + h4(0x8000 | (lo >>> 16)) + '-' + h4(lo) + h8(rand());
}
