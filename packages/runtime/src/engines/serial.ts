/**
 * One call at a time, in call order: an engine session must not run twice at once (onnxruntime-web keeps
 * WASM stack state across the awaits of a run). An idle session runs a call at once, with no queue.
 */
export interface Serial<A, B, R> {
  run(a: A, b: B): Promise<R>;
  /** Waits for the calls under way, then runs `last`; later calls fail. */
  close(last: () => Promise<void> | void): Promise<void>;
}

/**
 * `fn` gets a `done` callback that it must call exactly once, when its run has finished (in a `finally` around
 * its whole body): the session is freed in the run's own continuation, without a promise reaction of its own.
 */
export function serial<A, B, R>(fn: (a: A, b: B, done: () => void) => Promise<R>): Serial<A, B, R> {
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
  const start = (a: A, b: B): Promise<R> => {
    try {
      return fn(a, b, done);
    } catch (err) {
      // Only a function that is not async can throw here, before its own `finally`.
      done();
      return Promise.reject(err);
    }
  };
  const queued = async (a: A, b: B): Promise<R> => {
    await turn();
    if (closed) {
      done();
      throw new Error('session released');
    }
    return start(a, b);
  };
  return {
    run(a, b) {
      if (busy || closed) return queued(a, b);
      // The common case, an idle session: no queue, no extra async frame.
      busy = true;
      return start(a, b);
    },
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
