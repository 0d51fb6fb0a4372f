/**
 * The trainer's error catalogue. Each error has a stable `code` (ELT_…) and a message that tells the user what to
 * do; the CLI prints the message and exits non-zero, scripts read the code (with `--json`).
 */

/** Every trainer error code with its message template (`%s` is filled in order) and CLI exit status. */
export const catalogue = {
  ELT_BAD_ARGUMENT: { message: 'Bad command line: %s (see edgeloop-trainer --help)', exit: 2 },
  ELT_COLLECTOR_UNREACHABLE: {
    message:
      'Cannot reach the collector at %s (%s): start it (edgeloop-collector) or pass --collector / EDGELOOP_COLLECTOR',
    exit: 3,
  },
  ELT_BAD_TOKEN: {
    message: 'The collector refused the token (%s): pass a trainer or admin key with --token or EDGELOOP_TOKEN',
    exit: 4,
  },
  ELT_COLLECTOR_ERROR: { message: 'The collector answered %s to %s: %s', exit: 5 },
  ELT_EMPTY_BATCH: { message: 'Nothing new to learn for model "%s": %s', exit: 6 },
  ELT_NO_STABLE_VERSION: {
    message: 'Model "%s" has no stable version: run `edgeloop-trainer bootstrap --model %s` or register one first',
    exit: 7,
  },
  ELT_NO_GOLDEN_SET: {
    message: 'Model "%s" has no golden set: bootstrap uploads one (PUT /v1/models/%s/golden)',
    exit: 7,
  },
  ELT_NO_CANARY: {
    message: 'Model "%s" has no canary running: its policy is set when one starts (train or publish, --canary-step …)',
    exit: 7,
  },
  ELT_GATE_FAILED: { message: 'The candidate did not pass the gate: %s', exit: 8 },
  ELT_UNSUPPORTED_LAYER: {
    message:
      'The ONNX exporter does not support %s: use Dense, Conv2D, DepthwiseConv2D, pooling, Flatten, Reshape, Dropout, BatchNormalization or activations',
    exit: 9,
  },
  ELT_PARITY_FAILED: { message: 'ONNX export failed the parity check against TF.js: %s', exit: 9 },
  ELT_UNSUPPORTED_OP: {
    message:
      'The ONNX importer does not support %s: it reads chains of Conv, Gemm, MatMul + Add, Relu, LeakyRelu, Sigmoid, Tanh, MaxPool, AveragePool, GlobalAveragePool, BatchNormalization, Flatten, Reshape to 2-D, Dropout, Softmax and Identity (opsets 7 to 21); re-export the model without the others, or register it as a TF.js model',
    exit: 9,
  },
  ELT_IMPORT_PARITY_FAILED: {
    message: 'The imported model does not match the ONNX model in onnxruntime-web: %s',
    exit: 9,
  },
  ELT_BACKEND_UNAVAILABLE: { message: 'Backend "%s" is not available: %s', exit: 10 },
  ELT_BAD_MODEL: { message: 'Cannot use this model: %s', exit: 11 },
  ELT_BAD_DATA: { message: 'Bad training or evaluation data: %s', exit: 11 },
  ELT_LEASE_HELD: {
    message:
      'Another trainer (%s) is training model "%s" now: run train again once it is done, or use train --watch, which waits for it',
    exit: 13,
  },
  ELT_LEASE_LOST: {
    message:
      'The training lease of model "%s" was lost (%s): another trainer has the job now, so this cycle published nothing',
    exit: 12,
  },
} as const;

export type TrainerErrorCode = keyof typeof catalogue;

/** An error with a stable code from the catalogue; `cause` keeps the underlying error for --debug. */
export class TrainerError extends Error {
  readonly code: TrainerErrorCode;
  readonly exitCode: number;

  constructor(code: TrainerErrorCode, args: readonly (string | number)[] = [], options?: { cause?: unknown }) {
    let i = 0;
    const message = catalogue[code].message.replace(/%s/g, () => String(args[i++] ?? ''));
    super(message, options);
    this.name = 'TrainerError';
    this.code = code;
    this.exitCode = catalogue[code].exit;
  }
}

/** True when `e` is a TrainerError, optionally with the given code. */
export function isTrainerError(e: unknown, code?: TrainerErrorCode): e is TrainerError {
  return e instanceof TrainerError && (code === undefined || e.code === code);
}
