/**
 * One engine run at a time, in call order: an engine session must not run twice at once (onnxruntime-web keeps
 * WASM stack state across the awaits of a run). An idle session starts a run at once, with no queue and no
 * promise of its own.
 */
export class Turns {
  #busy = false;
  #closed = false;
  readonly #waiting: (() => void)[] = [];

  /**
   * Takes the session's turn for one run: `undefined` when it is taken at once (the common case), else a promise
   * that resolves when it is this run's turn, or rejects if the session was released meanwhile. A run that
   * took its turn gives it back with `leave()` exactly once, however it ends.
   */
  enter(): Promise<void> | undefined {
    if (this.#busy || this.#closed) return this.#queued();
    this.#busy = true;
    return undefined;
  }

  leave(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#busy = false;
  }

  /** Waits for the runs under way, then runs `last`; later runs reject. */
  async close(last: () => Promise<void> | void): Promise<void> {
    await this.#turn();
    this.#closed = true;
    try {
      await last();
    } finally {
      this.leave();
    }
  }

  async #queued(): Promise<void> {
    await this.#turn();
    if (this.#closed) {
      this.leave();
      throw new Error('session released');
    }
  }

  async #turn(): Promise<void> {
    if (this.#busy) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#busy = true;
  }
}
