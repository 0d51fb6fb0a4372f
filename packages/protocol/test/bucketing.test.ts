import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { murmur3_32, bucketOf, inCanary } from '@edgeloop/protocol';

const vectors = JSON.parse(readFileSync(new URL('../test-vectors.json', import.meta.url), 'utf8')) as {
  murmur3_32: { key: string; seed: number; hash: number }[];
  buckets: { model: string; deviceId: string; bucket: number }[];
};

test('murmur3_32 matches the reference MurmurHash3 x86_32 vectors', () => {
  // Independent reference values (Appleby's SMHasher): '' → 0, '' seed 1 → 0x514e28b7, 'hello' → 0x248bfa47.
  assert.equal(murmur3_32(''), 0);
  assert.equal(murmur3_32('', 1), 0x514e28b7);
  assert.equal(murmur3_32('hello'), 0x248bfa47);
  assert.equal(murmur3_32('The quick brown fox jumps over the lazy dog'), 0x2e4ff723);
  assert.equal(murmur3_32('aaaa', 0x9747b28c), 0x5a97808a);
  for (const v of vectors.murmur3_32) assert.equal(murmur3_32(v.key, v.seed), v.hash, JSON.stringify(v));
});

test('bucketOf matches the published test vectors', () => {
  for (const v of vectors.buckets) assert.equal(bucketOf(v.model, v.deviceId), v.bucket, JSON.stringify(v));
});

test('raising canaryPercent only adds devices', () => {
  const devices = Array.from({ length: 2000 }, (_, i) => `device-${i}`);
  let previous = new Set<string>();
  for (const percent of [0, 1, 5, 10, 25, 50, 99.99, 100]) {
    const inside = new Set(devices.filter((d) => inCanary('digits', d, percent)));
    for (const d of previous) assert.ok(inside.has(d), `${d} left the canary at ${percent}%`);
    previous = inside;
  }
  assert.equal(previous.size, devices.length);
  const tenPercent = devices.filter((d) => inCanary('digits', d, 10)).length / devices.length;
  assert.ok(tenPercent > 0.07 && tenPercent < 0.13, `10% canary holds ${tenPercent}`);
});
