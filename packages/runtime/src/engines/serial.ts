/**
 * One call at a time, in call order: an engine session must not run twice at once (onnxruntime-web keeps
 * WASM stack state across the awaits of a run). An idle session runs a call at once, with no queue.
 */
export interface Serial<A, B, R> {
  run(a: A, b: B): Promise<R>;
  /** Waits for the calls under way, then runs `last`; later calls fail. */
  close(last: () => Promise<void> | void): Promise<void>;
}

export function serial<A, B, R>(fn: (a: A, b: B) => Promise<R>): Serial<A, B, R> {
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
  const queued = async (a: A, b: B): Promise<R> => {
    await turn();
    try {
      if (closed) throw new Error('session released');
      return await fn(a, b);
    } finally {
      done();
    }
  };
  return {
    run(a, b) {
      if (busy || closed) return queued(a, b);
      // The common case, an idle session: no queue, no extra async frame, one reaction to free the session.
      busy = true;
      let p: Promise<R>;
      try {
        p = fn(a, b);
      } catch (err) {
        done();
        return Promise.reject(err);
      }
      p.then(done, done);
      return p;
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
