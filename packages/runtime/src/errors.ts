/**
 * The runtime's error catalogue. Every error the runtime raises or reports (in `error` events to the app and
 * in `error` events to the collector) carries one of these stable codes; the message says what to do.
 */

export const codes = {
  EL_RT_INVALID_OPTIONS: 'Invalid createRuntime() options: %s',
  EL_RT_NO_ENGINE: 'No engine could run this model: %s',
  EL_RT_ENGINE_LOAD: 'Engine "%s" could not load the model: %s',
  EL_RT_ENGINE_RUN: 'Engine "%s" failed while predicting: %s',
  EL_RT_BAD_INPUT: 'Input does not match the model: %s',
  EL_RT_MANIFEST: 'The manifest could not be fetched or is invalid: %s',
  EL_RT_NO_MODEL: 'No model to run: no manifest could be fetched and no earlier model is cached (%s)',
  EL_RT_ARTIFACT_FETCH: 'Artifact "%s" could not be downloaded: %s',
  EL_RT_ARTIFACT_SHA: 'Artifact "%s" does not match its sha256 (expected %s, got %s): it was not used',
  EL_RT_PROBE_FAILED: 'Model %s failed its probe check: %s; it was not used',
  EL_RT_UNKNOWN_LABEL: 'Label "%s" is not one of the model labels: %s',
  EL_RT_LABEL_KIND: 'Model "%s" is %s: report %s',
  EL_RT_DISPOSED: 'This runtime was disposed: create a new one with createRuntime()',
  EL_RT_WORKER: 'The runtime worker failed: %s',
} as const;

export type ErrorCode = keyof typeof codes;

/** An error with a stable `code` from the runtime's catalogue. */
export class RuntimeError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, ...args: (string | number)[]) {
    let i = 0;
    super(codes[code].replace(/%s/g, () => String(args[i++] ?? '')));
    this.name = 'RuntimeError';
    this.code = code;
  }

  /** Rebuilds an error that crossed a thread boundary as code and message. */
  static from(code: string, message: string): RuntimeError {
    const err = new RuntimeError(code in codes ? (code as ErrorCode) : 'EL_RT_WORKER', message);
    err.message = message;
    return err;
  }
}

/** The code and message of any thrown value: runtime errors keep theirs, others become `fallback`. */
export function describeError(err: unknown, fallback: ErrorCode): { code: string; message: string } {
  if (err instanceof RuntimeError) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: fallback, message: message.slice(0, 2000) };
}
