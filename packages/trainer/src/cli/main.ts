/**
 * edgeloop-trainer: bootstrap | train [--watch] | evaluate | export | register. Errors are caught in one place:
 * the message (and code) is printed, the stack only with --debug, and the exit status is the error's.
 */
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_SETTLED_MS, MAX_SETTLED_MS, type Example } from '@edgeloop/protocol';
import { releaseBackend, useBackend, type BackendRequest } from '../backend/select.js';
import { CollectorClient } from '../collector/client.js';
import { bootstrap } from '../cycle/bootstrap.js';
import { GATE_DEFAULTS } from '../cycle/gate.js';
import { evaluateVersion, exportVersion } from '../cycle/inspect.js';
import { DEFAULT_AUTO_POLICY } from '../cycle/publish.js';
import { pullWork, publishCandidate } from '../cycle/external.js';
import { registerModel, registerOnnxModel } from '../cycle/register.js';
import { DEFAULT_BUDGET_SEC, retrain, type RetrainOptions, type RetrainResult } from '../cycle/retrain.js';
import { watch } from '../cycle/watch.js';
import { DEFAULT_LEASE_TTL_MS, TrainingLease } from '../cycle/lease.js';
import { DRIFTS, shift } from '../data/drift.js';
import type { ExampleSet } from '../data/examples.js';
import { loadMnist, type MnistPart } from '../data/mnist.js';
import { decodeExamples } from '../data/wire.js';
import { catalogue, TrainerError } from '../errors.js';
import { exportModel } from '../export/artifacts.js';
import { loadLayers } from '../export/tfjs-layers.js';
import { num, parseCommandLine, required, USAGE, type Flags } from './args.js';
import { makeOutput, type Output } from './output.js';

export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM (watch mode stops between polls). */
  signal?: AbortSignal;
}

/** Runs the CLI and resolves with the exit status. */
export async function main(
  argv: string[],
  io: CliIO = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  const json = argv.includes('--json');
  const debug = argv.includes('--debug');
  const out = makeOutput({ json, stdout: io.stdout, stderr: io.stderr });
  // Production mode: no "install tfjs-node" banner on stderr, no debug-only checks.
  tf.env().set('PROD', true);
  try {
    const { command, flags } = parseCommandLine(argv);
    if (flags.help || command === null) {
      io.stdout.write(`${USAGE}\n`);
      return command === null && !flags.help ? 2 : 0;
    }
    if (command === 'export' && flags.from) return await exportLocal(flags, out);
    const model = required(flags, 'model', 'for every command');
    const client = new CollectorClient({ url: collectorUrl(flags, io.env), token: token(flags, io.env) });
    if (command === 'base-data') return await uploadBaseData(client, model, flags, out);
    if (command === 'pull') {
      const r = await pullWork(client, {
        model,
        outDir: required(flags, 'out', 'for pull (the folder to write to)'),
        reporter: out,
      });
      out.result(
        r,
        `wrote batches ${r.batches.join(', ')} of "${model}" (stable ${r.stable}): ${r.counts.train} new, ${r.counts.replay} replayed, ${r.counts.golden} golden examples`,
      );
      return 0;
    }
    if (command === 'canary-policy') return await setCanaryPolicy(client, model, flags, out);
    const backend = await useBackend(flags.backend as BackendRequest);
    out.step(`backend: ${backend.name} (${backend.reason})`);
    switch (command) {
      case 'bootstrap': {
        const r = await bootstrap(client, {
          model,
          reporter: out,
          backend: backend.name,
          ...(flags.examples ? { examples: num(flags, 'examples', 0, { min: 10, int: true }) } : {}),
          epochs: num(flags, 'epochs', 3, { min: 1, max: 1000, int: true }),
          ...(flags['golden-size'] ? { goldenSize: num(flags, 'golden-size', 0, { min: 10, int: true }) } : {}),
          ...(flags.seed ? { seed: num(flags, 'seed', 1, { int: true }) } : {}),
        });
        out.result(
          { backend, ...r },
          r.status === 'exists' ? r.message : `published ${r.version} as the stable version of "${model}"`,
        );
        return 0;
      }
      case 'train': {
        const options = retrainOptions(flags, model, backend.name, out);
        const lease = {
          ttlMs: Math.round(num(flags, 'lease-ttl', DEFAULT_LEASE_TTL_MS / 1000, { min: 0.5, max: 3600 }) * 1000),
          ...(flags.holder ? { holder: holderName(flags.holder) } : {}),
        };
        if (!flags.watch) {
          // One cycle, under the model's training lease like a watch's: a trainer busy with the model means not now.
          const claimed = await TrainingLease.claim(client, model, { ...lease, reporter: out });
          if (!claimed.lease)
            throw new TrainerError('ELT_LEASE_HELD', [claimed.heldBy?.holder ?? 'claiming now', model]);
          let r: RetrainResult;
          try {
            r = await retrain(
              client.guardedBy(
                () => claimed.lease.confirm(),
                () => claimed.lease.current.leaseId,
              ),
              options,
            );
          } finally {
            await claimed.lease.release();
          }
          out.result({ backend, ...r }, describe(r));
          return r.status === 'rejected' ? catalogue.ELT_GATE_FAILED.exit : 0;
        }
        const cycles = await watch(client, {
          ...options,
          minLabels: num(flags, 'min-labels', 50, { min: 1, int: true }),
          everySec: flags.every ? num(flags, 'every', 0, { min: 1 }) : null,
          driftThreshold: flags['drift-threshold'] === 'off' ? null : num(flags, 'drift-threshold', 0.2, { min: 0 }),
          pollSec: num(flags, 'poll', 30, { min: 0.05 }),
          ...(flags['max-cycles'] ? { maxCycles: num(flags, 'max-cycles', 1, { min: 1, int: true }) } : {}),
          lease,
          ...(io.signal ? { signal: io.signal } : {}),
          onCycle: (r, trigger) => out.result({ trigger, ...r }, `[${trigger}] ${describe(r)}`),
        });
        out.step(`watch ended after ${cycles} cycle(s)`);
        return 0;
      }
      case 'evaluate': {
        const data = flags.data ? readData(flags.data) : undefined;
        const report = await evaluateVersion(client, model, flags.version, data);
        const path = flags.out ?? `edgeloop-eval-${model}-${report.version}.json`;
        writeFileSync(path, JSON.stringify(report, null, 2) + '\n');
        const recall = report.labels
          .map((l) => `${l}: ${report.recall[l] == null ? '—' : (report.recall[l]! * 100).toFixed(1)}`)
          .join('  ');
        out.result(
          { ...report, report: path },
          `${model} ${report.version} on ${report.data} (${report.count} examples): accuracy ${(report.accuracy * 100).toFixed(2)} %\nrecall  ${recall}\nreport written to ${path}`,
        );
        return 0;
      }
      case 'export': {
        const dir = required(flags, 'out', 'for export (the folder to write to)');
        const r = await exportVersion(client, model, flags.version, dir);
        out.result(r, `exported ${model} ${r.version} to ${dir} (ONNX parity max diff ${r.parity?.toExponential(2)})`);
        return 0;
      }
      case 'publish': {
        const onnx = readOnnxFile(
          required(flags, 'onnx', 'for publish (the candidate model trained outside edgeloop)'),
        );
        const options = retrainOptions(flags, model, backend.name, out);
        const r = await publishCandidate(client, {
          model,
          onnx,
          ...(flags.batches
            ? {
                batches: flags.batches
                  .split(',')
                  .map((s) => s.trim())
                  .filter(Boolean),
              }
            : {}),
          ...(options.gate ? { gate: options.gate } : {}),
          ...(options.canary !== undefined ? { canary: options.canary } : {}),
          reporter: out,
        });
        out.result(
          r,
          r.status === 'published'
            ? `published ${r.version} (parent ${r.parent})${r.rollout?.canary ? ` as a ${r.rollout.canaryPercent} % canary` : ''}`
            : `the candidate did not pass the gate: nothing published (parent ${r.parent})`,
        );
        return r.status === 'rejected' ? catalogue.ELT_GATE_FAILED.exit : 0;
      }
      case 'register': {
        if (flags.onnx) return await registerOnnx(client, model, flags, out);
        const dir = required(
          flags,
          'from',
          'for register (a folder with model.json and its weights, or --onnx model.onnx)',
        );
        const labels = required(flags, 'labels', 'for register (comma-separated, output order)')
          .split(',')
          .map((s) => s.trim());
        const shape = required(flags, 'input-shape', 'for register (one example, e.g. 28,28,1)').split(',').map(Number);
        if (shape.some((d) => !Number.isInteger(d) || d < 1))
          throw new TrainerError('ELT_BAD_ARGUMENT', ['--input-shape must be positive integers like 28,28,1']);
        const input = {
          shape,
          dtype: 'float32' as const,
          normalize: { scale: num(flags, 'scale', 1), offset: num(flags, 'offset', 0) },
        };
        const r = await registerModel(client, {
          model,
          ...readLayersDir(dir),
          labels,
          input,
          ...(flags.golden ? { golden: readNdjson(flags.golden) } : {}),
          trainableTail: num(flags, 'trainable-tail', 1, { min: 1, int: true }),
          reporter: out,
        });
        out.result(r, `registered ${model} ${r.version}${r.onnx ? '' : ` (TF.js only: ${r.onnxSkipped})`}`);
        return 0;
      }
    }
  } catch (e) {
    out.close();
    return fail(e, { json, debug, io });
  } finally {
    await releaseBackend().catch(() => {});
  }
}

function readOnnxFile(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new TrainerError('ELT_BAD_MODEL', [`cannot read ${path}: ${(e as Error).message}`], { cause: e });
  }
}

async function uploadBaseData(client: CollectorClient, model: string, flags: Flags, out: Output): Promise<number> {
  const file = required(flags, 'file', 'for base-data (NDJSON lines of { inputHash, input, label })');
  const examples = readNdjson(file);
  if (examples.length === 0) throw new TrainerError('ELT_BAD_DATA', [`${file} holds no examples`]);
  out.step(`uploading ${examples.length} examples as the base data of "${model}"`);
  const batch = await client.putBaseData(
    model,
    examples.map(({ inputHash, input, label, labels }) => ({
      inputHash,
      input,
      ...(labels ? { labels } : { label: label! }),
      split: 'train' as const,
    })),
  );
  out.result(
    { model, baseData: batch.id, examples: batch.counts.examples, byLabel: batch.counts.byLabel },
    `base data of "${model}" is ${batch.id} (${batch.counts.examples} examples): retraining replays it`,
  );
  return 0;
}

async function registerOnnx(client: CollectorClient, model: string, flags: Flags, out: Output): Promise<number> {
  const labels = required(flags, 'labels', 'for register (comma-separated, output order)')
    .split(',')
    .map((s) => s.trim());
  // Without --layout, an image input (one example of rank 3) is taken as NCHW, PyTorch's convention.
  const layout = flags.layout;
  if (layout !== undefined && layout !== 'nchw' && layout !== 'nhwc')
    throw new TrainerError('ELT_BAD_ARGUMENT', [`--layout must be nchw or nhwc, not "${layout}"`]);
  const output = flags.output;
  if (output !== undefined && output !== 'logits' && output !== 'probabilities' && output !== 'sigmoid') {
    throw new TrainerError('ELT_BAD_ARGUMENT', [`--output must be logits, probabilities or sigmoid, not "${output}"`]);
  }
  const list = (name: 'mean' | 'std') => {
    const v = flags[name]?.split(',').map(Number);
    if (v?.some((x) => !Number.isFinite(x) || (name === 'std' && x <= 0)))
      throw new TrainerError('ELT_BAD_ARGUMENT', [
        `--${name} must be comma-separated numbers${name === 'std' ? ' above 0' : ''}`,
      ]);
    return v;
  };
  const [mean, std] = [list('mean'), list('std')];
  const r = await registerOnnxModel(client, {
    model,
    onnx: readOnnxFile(flags.onnx!),
    labels,
    input: {
      dtype: 'float32',
      ...(layout ? { layout } : {}),
      normalize: {
        scale: num(flags, 'scale', 1),
        offset: num(flags, 'offset', 0),
        ...(mean ? { mean } : {}),
        ...(std ? { std } : {}),
      },
    },
    ...(output ? { output } : {}),
    ...(flags.golden ? { golden: readNdjson(flags.golden) } : {}),
    trainableTail: num(flags, 'trainable-tail', 1, { min: 1, int: true }),
    reporter: out,
  });
  out.result(
    r,
    `registered ${model} ${r.version} from ONNX (opset ${r.opset}, input "${r.names.input}", output "${r.names.output}" as ${r.output}; parity with onnxruntime-web ${r.parity.toExponential(2)})`,
  );
  return 0;
}

function retrainOptions(flags: Flags, model: string, backend: string, out: Output): RetrainOptions {
  const recipe = flags.recipe ?? 'search';
  if (recipe !== 'search' && recipe !== 'fixed')
    throw new TrainerError('ELT_BAD_ARGUMENT', [`--recipe must be search or fixed, not "${recipe}"`]);
  // Given by hand, a learning rate, epoch count or replay ratio pins that dimension of every candidate.
  const pin = (name: 'epochs' | 'learning-rate' | 'replay-ratio', range: Parameters<typeof num>[3]) =>
    flags[name] === undefined ? undefined : num(flags, name, 0, range);
  const epochs = pin('epochs', { min: 1, max: 1000, int: true });
  const learningRate = pin('learning-rate', { min: 0 });
  const replayRatio = pin('replay-ratio', { min: 0 });
  return {
    model,
    backend,
    reporter: out,
    recipe,
    ...(epochs !== undefined ? { epochs } : {}),
    ...(learningRate !== undefined ? { learningRate } : {}),
    ...(replayRatio !== undefined ? { replayRatio } : {}),
    budgetSec: num(flags, 'budget-sec', DEFAULT_BUDGET_SEC, { min: 1 }),
    ...(flags.candidates ? { maxCandidates: num(flags, 'candidates', 1, { min: 1, int: true }) } : {}),
    ...(flags['no-interpolate'] ? { interpolate: false } : {}),
    accepted: flags['no-accepted']
      ? false
      : {
          settledMs:
            num(flags, 'settled-sec', DEFAULT_SETTLED_MS / 1000, { min: 0, max: MAX_SETTLED_MS / 1000 }) * 1000,
        },
    gate: {
      goldenTolerance: num(flags, 'golden-tolerance', 0.5, { min: 0, max: 100 }) / 100,
      recallTolerance: num(flags, 'recall-tolerance', 5, { min: 0, max: 100 }) / 100,
      minGain: num(flags, 'min-gain', GATE_DEFAULTS.minGain * 100, { min: 0, max: 100 }) / 100,
      replayTolerance: num(flags, 'replay-tolerance', GATE_DEFAULTS.replayTolerance * 100, { min: 0, max: 100 }) / 100,
    },
    canary: flags['no-canary']
      ? false
      : {
          percent: num(flags, 'canary-percent', 10, { min: 0.01, max: 100 }),
          auto: {
            ...DEFAULT_AUTO_POLICY,
            stepPercent: num(flags, 'canary-step', DEFAULT_AUTO_POLICY.stepPercent, { min: 0.01, max: 100 }),
            maxPercent: num(flags, 'canary-max', DEFAULT_AUTO_POLICY.maxPercent, { min: 0.01, max: 100 }),
            intervalSec: num(flags, 'canary-interval', DEFAULT_AUTO_POLICY.intervalSec, {
              min: 1,
              max: 86_400,
              int: true,
            }),
            minSamples: num(flags, 'canary-min-samples', DEFAULT_AUTO_POLICY.minSamples, { min: 1, int: true }),
          },
        },
    ...(flags.seed ? { seed: num(flags, 'seed', 1, { int: true }) } : {}),
  };
}

/**
 * `canary-policy`: sets the automatic policy of the live canary (`PUT …/rollout` with its stable, canary and percent
 * unchanged): each canary flag given replaces that field of its current policy (the default one when it had none),
 * and a pause stays a pause. The collector refuses a percent below the live one, so should the controller step the
 * canary between the read and the write, the command fails (ELT_COLLECTOR_ERROR) and can simply be run again.
 */
async function setCanaryPolicy(client: CollectorClient, model: string, flags: Flags, out: Output): Promise<number> {
  const current = await client.rollout(model);
  if (!current?.canary) throw new TrainerError('ELT_NO_CANARY', [model]);
  const was = current.auto ?? DEFAULT_AUTO_POLICY;
  const auto = {
    ...was,
    stepPercent: num(flags, 'canary-step', was.stepPercent, { min: 0.01, max: 100 }),
    maxPercent: num(flags, 'canary-max', was.maxPercent, { min: 0.01, max: 100 }),
    intervalSec: num(flags, 'canary-interval', was.intervalSec, { min: 1, max: 86_400, int: true }),
    minSamples: num(flags, 'canary-min-samples', was.minSamples, { min: 1, int: true }),
  };
  const r = await client.setRollout(model, {
    stable: current.stable,
    canary: current.canary,
    canaryPercent: current.canaryPercent,
    auto,
    reason: flags.reason ?? 'canary policy set with edgeloop-trainer canary-policy',
  });
  const a = r.auto!;
  out.result(
    r,
    `canary ${r.canary} of "${model}" at ${r.canaryPercent} %: steps of ${a.stepPercent} points every ` +
      `${a.intervalSec} s once each side has ${a.minSamples} predictions, promoted at ${a.maxPercent} %` +
      (a.paused ? ' (paused: resume it from the admin page)' : ''),
  );
  return 0;
}

function holderName(name: string): string {
  if (!/^[\x21-\x7e]{1,200}$/.test(name))
    throw new TrainerError('ELT_BAD_ARGUMENT', [
      `--holder must be 1 to 200 printable ASCII characters without spaces, not "${name}"`,
    ]);
  return name;
}

function describe(r: RetrainResult): string {
  if (r.status === 'nothing-new') return `nothing new to learn: ${r.message}`;
  if (r.status === 'rejected')
    return `the best candidates did not pass the gate: nothing published (parent ${r.parent}); the batches are retried with the next labels`;
  return `published ${r.version} (parent ${r.parent})${r.rollout?.canary ? ` as a ${r.rollout.canaryPercent} % canary` : ''}`;
}

function collectorUrl(flags: Flags, env: NodeJS.ProcessEnv): string {
  const url = flags.collector ?? env.EDGELOOP_COLLECTOR;
  if (!url)
    throw new TrainerError('ELT_BAD_ARGUMENT', ['no collector: pass --collector URL or set EDGELOOP_COLLECTOR']);
  if (!/^https?:\/\//.test(url))
    throw new TrainerError('ELT_BAD_ARGUMENT', [`--collector must be an http(s) URL, not "${url}"`]);
  return url;
}

function token(flags: Flags, env: NodeJS.ProcessEnv): string {
  const t = flags.token ?? env.EDGELOOP_TOKEN;
  if (!t)
    throw new TrainerError('ELT_BAD_ARGUMENT', [
      'no token: pass --token T or set EDGELOOP_TOKEN (a trainer or admin key)',
    ]);
  return t;
}

function readNdjson(path: string): Example[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Example);
  } catch (e) {
    throw new TrainerError('ELT_BAD_DATA', [`cannot read ${path} as NDJSON examples: ${(e as Error).message}`], {
      cause: e,
    });
  }
}

/** `mnist:<part>[:<drift>]` (a drift of the suite, or `shift`: 2 px right and up) or an NDJSON file of wire examples (decoded against the version later). */
function readData(spec: string): { name: string; set: ExampleSet } {
  const m = /^mnist:(train|golden|drift|test)(?::([a-z]+))?$/.exec(spec);
  if (m) {
    const set = loadMnist(m[1] as MnistPart);
    if (!m[2]) return { name: spec, set };
    if (m[2] === 'shift') return { name: spec, set: shift(set, 2, -2) };
    const drift = DRIFTS[m[2]];
    if (!drift)
      throw new TrainerError('ELT_BAD_ARGUMENT', [
        `--data ${spec}: no drift "${m[2]}" (one of ${Object.keys(DRIFTS).join(', ')}, shift)`,
      ]);
    return { name: spec, set: drift(set) };
  }
  const examples = readNdjson(spec);
  const first = examples[0];
  if (!first) throw new TrainerError('ELT_BAD_DATA', [`${spec} holds no examples`]);
  const labels = [...new Set(examples.flatMap((e) => e.labels ?? (e.label !== undefined ? [e.label] : [])))].sort();
  const shape = first.input.shape;
  const decoded = decodeExamples(
    examples.map((e) => ({ ...e, split: 'val' as const })),
    labels,
    { shape, dtype: first.input.dtype, normalize: { scale: 1, offset: 0 } },
    { multiLabel: first.labels !== undefined },
  );
  return { name: spec, set: decoded.bySplit.val };
}

function readLayersDir(dir: string): { modelJson: Uint8Array; files: Map<string, Uint8Array> } {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new TrainerError('ELT_BAD_MODEL', [`cannot read ${dir}: ${(e as Error).message}`], { cause: e });
  }
  if (!names.includes('model.json')) throw new TrainerError('ELT_BAD_MODEL', [`${dir} has no model.json`]);
  const files = new Map(
    names.filter((n) => n.endsWith('.bin')).map((n) => [n, new Uint8Array(readFileSync(join(dir, n)))] as const),
  );
  return { modelJson: new Uint8Array(readFileSync(join(dir, 'model.json'))), files };
}

async function exportLocal(flags: Flags, out: Output): Promise<number> {
  const outDir = required(flags, 'out', 'for export (the folder to write to)');
  const backend = await useBackend(flags.backend as 'auto' | 'webgpu' | 'cpu');
  out.step(`backend: ${backend.name} (${backend.reason})`);
  const net = await loadLayers(readLayersDir(flags.from!));
  const exported = await exportModel(net);
  mkdirSync(join(outDir, 'tfjs'), { recursive: true });
  const files = exported.files.map((f) => {
    const path = f.format === 'onnx' ? join(outDir, f.name) : join(outDir, 'tfjs', f.name);
    writeFileSync(path, f.bytes);
    return path;
  });
  out.result(
    { files, parity: exported.parity },
    `exported ${flags.from} to ${outDir} (ONNX parity max diff ${exported.parity?.maxAbsDiff.toExponential(2)})`,
  );
  return 0;
}

function fail(e: unknown, { json, debug, io }: { json: boolean; debug: boolean; io: CliIO }): number {
  const known = e instanceof TrainerError;
  const code = known ? e.code : 'ELT_UNEXPECTED';
  const message = known
    ? e.message
    : `unexpected error: ${(e as Error)?.message ?? String(e)} (run with --debug for the stack)`;
  if (json) io.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  io.stderr.write(`error ${code}: ${message}\n`);
  if (debug) {
    io.stderr.write(`${(e as Error)?.stack ?? ''}\n`);
    const cause = (e as { cause?: Error })?.cause;
    if (cause) io.stderr.write(`caused by: ${cause.stack ?? String(cause)}\n`);
  }
  return known ? e.exitCode : 1;
}
