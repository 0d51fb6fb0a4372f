/**
 * The command line: `edgeloop-trainer <command> --model M [--collector URL] [--token T] [options]`, parsed with
 * node:util parseArgs; every value is checked here so that commands get typed options or ELT_BAD_ARGUMENT.
 */
import { parseArgs } from 'node:util';
import { TrainerError } from '../errors.js';

export const COMMANDS = [
  'bootstrap',
  'train',
  'evaluate',
  'export',
  'register',
  'base-data',
  'pull',
  'publish',
  'canary-policy',
] as const;
export type Command = (typeof COMMANDS)[number];

const options = {
  model: { type: 'string' },
  collector: { type: 'string' },
  token: { type: 'string' },
  backend: { type: 'string', default: 'auto' },
  json: { type: 'boolean', default: false },
  debug: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  seed: { type: 'string' },
  // bootstrap
  examples: { type: 'string' },
  epochs: { type: 'string' },
  'golden-size': { type: 'string' },
  // train
  watch: { type: 'boolean', default: false },
  'min-labels': { type: 'string' },
  every: { type: 'string' },
  poll: { type: 'string' },
  'drift-threshold': { type: 'string' },
  'learning-rate': { type: 'string' },
  recipe: { type: 'string' },
  'budget-sec': { type: 'string' },
  candidates: { type: 'string' },
  'no-interpolate': { type: 'boolean', default: false },
  'settled-sec': { type: 'string' },
  'no-accepted': { type: 'boolean', default: false },
  'min-gain': { type: 'string' },
  'replay-tolerance': { type: 'string' },
  'replay-ratio': { type: 'string' },
  'golden-tolerance': { type: 'string' },
  'recall-tolerance': { type: 'string' },
  'canary-percent': { type: 'string' },
  'canary-step': { type: 'string' },
  'canary-max': { type: 'string' },
  'canary-interval': { type: 'string' },
  'canary-min-samples': { type: 'string' },
  'no-canary': { type: 'boolean', default: false },
  'max-cycles': { type: 'string' },
  'lease-ttl': { type: 'string' },
  holder: { type: 'string' },
  // evaluate, export, register
  version: { type: 'string' },
  data: { type: 'string' },
  out: { type: 'string' },
  from: { type: 'string' },
  labels: { type: 'string' },
  'input-shape': { type: 'string' },
  scale: { type: 'string' },
  offset: { type: 'string' },
  golden: { type: 'string' },
  'trainable-tail': { type: 'string' },
  onnx: { type: 'string' },
  layout: { type: 'string' },
  output: { type: 'string' },
  mean: { type: 'string' },
  std: { type: 'string' },
  // base-data
  file: { type: 'string' },
  // publish
  batches: { type: 'string' },
  // canary-policy
  reason: { type: 'string' },
} as const;

export type Flags = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values'];

export const USAGE = `usage: edgeloop-trainer <command> --model M [--collector URL] [--token T] [options]

commands
  bootstrap   train the first digits model on MNIST, upload its golden set, publish it as stable
              [--examples N] [--epochs N] [--golden-size N]
  train       run one retraining cycle now if anything new was labeled (exit 0 with a message if not)
              --watch: wait for triggers: [--min-labels 50] [--every SEC] [--drift-threshold 0.2] [--poll 30]
              [--lease-ttl 60] [--holder NAME] (every cycle runs under the model's training lease, renewed every
              third of its ttl in seconds; a watch waits while another trainer holds it, one cycle exits 13)
              [--recipe search|fixed] [--budget-sec 170] [--candidates N] [--no-interpolate]
              (search: several candidates within the budget, interpolated with stable, the best that passes kept;
              fixed: one fine-tune, learning rate 3e-4, 5 epochs, replay 2:1)
              [--epochs N] [--learning-rate LR] [--replay-ratio R] (pin that dimension of every candidate)
              [--settled-sec 600 | --no-accepted] (kept predictions of stable no user reported wrong for that long
              count as accepted: trained on and gated on, see the trainer README)
              [--golden-tolerance 0.5] [--recall-tolerance 5] [--min-gain 5] [--replay-tolerance 1] (points)
              [--canary-percent 10 | --no-canary] and the canary's automatic policy: [--canary-step 10]
              [--canary-max 50] (percent) [--canary-interval 300] (seconds) [--canary-min-samples 200]
  evaluate    --version V (default: stable) [--data FILE.ndjson | mnist:<part>[:<drift>]] [--out report.json]
              drifts: thick, thin, shifted, rotated, small, noisy, occluded, shift
  export      --version V (default: stable) --out DIR; or --from DIR (a local TF.js model) --out DIR
  register    --from DIR (model.json + weights) --labels a,b,c --input-shape 28,28,1 [--scale 1 --offset 0]
              [--golden FILE.ndjson] [--trainable-tail 1]
              or --onnx model.onnx --labels a,b,c [--layout nchw|nhwc] [--output logits|probabilities|sigmoid]
              [--scale 1 --offset 0] [--mean 0.5,… --std 0.2,…] [--golden FILE.ndjson] [--trainable-tail 1]
  base-data   --file FILE.ndjson: the model's training set (or a sample), which retraining replays
  pull        --out DIR: freeze what was labeled and write the new batches, a replay sample and the golden set
              as .npy files, labels.txt and pull.json, for a trainer outside edgeloop (PyTorch, say)
  publish     --onnx candidate.onnx [--batches id,…]: validate a candidate trained outside, gate it against stable
              (the train gate options), publish it with lineage and a canary, or refuse it (exit 8)
  canary-policy  change the automatic policy of the canary already running: the canary flags given
              ([--canary-step P] [--canary-max P] [--canary-interval SEC] [--canary-min-samples N]) over its
              current policy, percent and pause kept; [--reason TEXT] for the audit log

common
  --collector URL  (or EDGELOOP_COLLECTOR)   --token T  (or EDGELOOP_TOKEN)
  --backend auto|webgpu|cpu (default auto)   --json   --debug   --seed N`;

/** Parses argv (without node and script); throws ELT_BAD_ARGUMENT on anything unknown or malformed. */
export function parseCommandLine(argv: string[]): { command: Command | null; flags: Flags } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new TrainerError('ELT_BAD_ARGUMENT', [(e as Error).message]);
  }
  const [command, ...rest] = parsed.positionals;
  if (rest.length) throw new TrainerError('ELT_BAD_ARGUMENT', [`unexpected argument "${rest[0]}"`]);
  if (command !== undefined && !(COMMANDS as readonly string[]).includes(command)) {
    throw new TrainerError('ELT_BAD_ARGUMENT', [`unknown command "${command}" (one of ${COMMANDS.join(', ')})`]);
  }
  const backend = parsed.values.backend;
  if (!['auto', 'webgpu', 'cpu'].includes(backend))
    throw new TrainerError('ELT_BAD_ARGUMENT', [`--backend must be auto, webgpu or cpu, not "${backend}"`]);
  return { command: (command as Command | undefined) ?? null, flags: parsed.values };
}

/** A numeric flag within [min, max] (integers only when `int`), or `fallback` when absent. */
export function num(
  flags: Flags,
  name: keyof Flags,
  fallback: number,
  range: { min?: number; max?: number; int?: boolean } = {},
): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  const { min = -Infinity, max = Infinity, int = false } = range;
  if (
    typeof raw !== 'string' ||
    raw.trim() === '' ||
    !Number.isFinite(v) ||
    v < min ||
    v > max ||
    (int && !Number.isInteger(v))
  ) {
    throw new TrainerError('ELT_BAD_ARGUMENT', [
      `--${name} must be ${int ? 'an integer' : 'a number'}${min > -Infinity ? ` ≥ ${min}` : ''}${max < Infinity ? ` ≤ ${max}` : ''}, not "${String(raw)}"`,
    ]);
  }
  return v;
}

/** A required string flag. */
export function required(flags: Flags, name: keyof Flags, why: string): string {
  const v = flags[name];
  if (typeof v !== 'string' || v === '') throw new TrainerError('ELT_BAD_ARGUMENT', [`--${name} is required ${why}`]);
  return v;
}
