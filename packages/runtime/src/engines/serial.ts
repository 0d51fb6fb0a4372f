/**
 * One engine run at a time, in call order: an engine session must not run twice at once (onnxruntime-web keeps
 * WASM stack state across the awaits of a run). An idle session runs a call at once, with no queue.
 */
import type { EngineSession } from './types.js';

/** Where a run hands its output, and what makes the error a failed run rejects with (`EngineSession.run`). */
export type Ok = (out: Float32Array) => unknown;
export type Fail = (err: unknown) => unknown;

export interface Serial {
  run: EngineSession['run'];
  /** Waits for the runs under way, then runs `last`; later runs fail. */
  close(last: () => Promise<void> | void): Promise<void>;
}

/**
 * `fn`, an async function (it never throws synchronously), runs the engine on one input and must call `done` exactly once, as soon as the engine work has finished
 * (before it hands the output to `ok`, and on failure, before it throws what `fail` returns): the session is
 * freed in the run's own continuation, without a promise reaction of its own. A run that cannot start (the
 * session was released) goes to `fail` too.
 */
export function serial(fn: (input: Float32Array, shape: readonly number[], ok: Ok, fail: Fail, done: () => void) => Promise<unknown>): Serial {
  let busy = false;
  let closed = false;
  const waiting: (() => void)[] = [];
  const turn = async () => {
    if (busy) await new Promise<void>((resolve) => waiting.push(resolve));
    busy = true;
  };
  const done = () => {
    const next = waiting.shift();
    if (next) next();
    else busy = false;
  };
  const queued = async (input: Float32Array, shape: readonly number[], ok: Ok, fail: Fail): Promise<unknown> => {
    await turn();
    if (closed) {
      done();
      throw fail(new Error('session released'));
    }
    return fn(input, shape, ok, fail, done);
  };
  return {
    run: ((input: Float32Array, shape: readonly number[], ok: Ok, fail: Fail) => {
      if (busy || closed) return queued(input, shape, ok, fail);
      // The common case, an idle session: no queue, no extra async frame.
      busy = true;
      return fn(input, shape, ok, fail, done);
    }) as EngineSession['run'],
    async close(last) {
      await turn();
      closed = true;
      try {
        await last();
      } finally {
        done();
      }
    },
  };
}
