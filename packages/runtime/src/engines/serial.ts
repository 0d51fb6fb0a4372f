/**
 * One call at a time, in call order: an engine session must not run twice at once (onnxruntime-web keeps
 * WASM stack state across the awaits of a run). An idle session runs a call at once, with no queue.
 */
export interface Serial<A extends unknown[], R> {
  run(...args: A): Promise<R>;
  /** Waits for the calls under way, then runs `last`; later calls fail. */
  close(last: () => Promise<void> | void): Promise<void>;
}

export function serial<A extends unknown[], R>(fn: (...args: A) => Promise<R>): Serial<A, R> {
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
  return {
    async run(...args) {
      await turn();
      try {
        if (closed) throw new Error('session released');
        return await fn(...args);
      } finally {
        done();
      }
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
