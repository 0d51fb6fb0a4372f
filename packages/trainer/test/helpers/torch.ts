/**
 * ONNX models made by real PyTorch (Debian's python3-torch and python3-onnx), as a team bringing its own model
 * would make them: see test/python/make_models.py for what each one holds.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExampleSet } from '../../src/index.js';

const SCRIPT = fileURLToPath(new URL('../python/make_models.py', import.meta.url));
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';

export interface TorchModels {
  dir: string;
  /** The bytes of `<name>.onnx`. */
  bytes(name: string): Uint8Array;
  path(name: string): string;
  /** Each model's opset and output kind, as the script reports them. */
  made: Record<string, { opset: number; output: string }>;
}

/** Exports the test models to a fresh folder; with `train`, also a CNN trained on those examples (1×28×28), 2 epochs unless `epochs` says. */
export function makeTorchModels(train?: ExampleSet, epochs?: number): TorchModels {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-torch-'));
  const args = [SCRIPT, dir];
  if (train) {
    writeFileSync(join(dir, 'x.f32'), train.x.subarray(0, train.count * 784));
    writeFileSync(join(dir, 'y.i32'), train.y);
    args.push('--train', join(dir, 'x.f32'), join(dir, 'y.i32'), String(train.count));
    if (epochs !== undefined) args.push('--epochs', String(epochs));
  }
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) {
    const missing = /No module named '(torch|onnx|numpy)'/.exec(r.stderr);
    throw new Error(
      missing
        ? `${PYTHON} has no ${missing[1]}: apt-get install -y python3-torch python3-onnx (or set PYTHON)`
        : `make_models.py exited ${r.status}: ${r.stderr.slice(-2000)}`,
    );
  }
  const made = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as TorchModels['made'];
  const path = (name: string) => join(dir, `${name}.onnx`);
  return { dir, made, path, bytes: (name) => new Uint8Array(readFileSync(path(name))) };
}

/**
 * A multi-label MLP (784 → 64 → labels, logits output "tags", input "pixels" [batch, 1, 28, 28]) trained by PyTorch
 * with binary cross-entropy on a multi-label set's images and label sets; written to `<dir>/multilabel-mlp.onnx`.
 */
export function makeMultiLabelTorchModel(train: ExampleSet): TorchModels {
  if (!train.yMulti) throw new Error('a multi-label model needs a set with label sets (yMulti)');
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-torch-'));
  writeFileSync(join(dir, 'x.f32'), train.x.subarray(0, train.count * 784));
  writeFileSync(join(dir, 'y.f32'), train.yMulti);
  const args = [SCRIPT, dir, '--multilabel', join(dir, 'x.f32'), join(dir, 'y.f32'), String(train.count)];
  const r = spawnSync(PYTHON, [...args, String(train.labels.length)], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`make_models.py --multilabel exited ${r.status}: ${r.stderr.slice(-2000)}`);
  const made = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as TorchModels['made'];
  const path = (name: string) => join(dir, `${name}.onnx`);
  return { dir, made, path, bytes: (name) => new Uint8Array(readFileSync(path(name))) };
}

/** The same examples seen as NCHW (one channel: the bytes do not change, only the shape does). */
export function asNchw(set: ExampleSet): ExampleSet {
  const [h, w, c] = set.shape as [number, number, number];
  return { ...set, shape: [c, h, w] };
}
