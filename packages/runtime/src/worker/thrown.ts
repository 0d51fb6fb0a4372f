/**
 * Errors thrown across the worker boundary keep their `code`: comlink's own handler for thrown values keeps only
 * `message`, `name` and `stack`. Installed on both sides (the page and the worker each load their own comlink).
 */
import { transferHandlers, type TransferHandler } from 'comlink';
import { RuntimeError, describeError } from '../errors.js';

interface Thrown {
  value: unknown;
}
interface Serialised {
  code: string;
  message: string;
  stack: string | undefined;
}

/** Replaces comlink's `throw` handler with one that carries the runtime's error code (idempotent). */
export function carryErrorCodes(): void {
  const builtin = transferHandlers.get('throw');
  if (!builtin || (builtin as { edgeloop?: true }).edgeloop) return;
  const handler: TransferHandler<Thrown, Serialised> & { edgeloop: true } = {
    edgeloop: true,
    // comlink marks a thrown value with a symbol it does not export: its own handler recognises it.
    canHandle: (value): value is Thrown => builtin.canHandle(value),
    serialize({ value }) {
      // Anything that is not a RuntimeError crosses as EL_RT_WORKER, with its message.
      const { code, message } = describeError(value, 'EL_RT_WORKER');
      return [{ code, message, stack: value instanceof Error ? value.stack : undefined }, []];
    },
    deserialize({ code, message, stack }) {
      const err = RuntimeError.from(code, message);
      if (stack) err.stack = stack;
      throw err;
    },
  };
  transferHandlers.set('throw', handler as TransferHandler<unknown, unknown>);
}
