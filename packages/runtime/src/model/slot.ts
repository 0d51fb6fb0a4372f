/**
 * The ModelSlot holds the serving model. A swap replaces it between two predictions; predictions already
 * running keep their lease on the old model, which is released when the last of them finishes.
 */
import type { Manifest } from '@edgeloop/protocol';
import type { EngineName, EngineSession } from '../engines/types.js';

export interface LoadedModel {
  manifest: Manifest;
  engine: EngineName;
  session: EngineSession;
}

interface Entry {
  model: LoadedModel;
  leases: number;
  retired: boolean;
}

export interface Lease {
  model: LoadedModel;
  release(): void;
}

export class ModelSlot {
  #current: Entry | null = null;
  /** Sessions created and released, for leak checks. */
  loaded = 0;
  released = 0;

  get model(): LoadedModel | null {
    return this.#current?.model ?? null;
  }

  /** Takes a lease on the serving model (synchronously, so a swap cannot slip in between). */
  acquire(): Lease | null {
    const entry = this.#current;
    if (!entry) return null;
    entry.leases++;
    let done = false;
    return {
      model: entry.model,
      release: () => {
        if (done) return;
        done = true;
        entry.leases--;
        if (entry.retired && entry.leases === 0) this.#free(entry);
      },
    };
  }

  /** Makes `next` the serving model; the previous one is released once idle. Returns the previous model. */
  swap(next: LoadedModel): LoadedModel | null {
    const old = this.#current;
    this.#current = { model: next, leases: 0, retired: false };
    this.loaded++;
    if (old) {
      old.retired = true;
      if (old.leases === 0) this.#free(old);
    }
    return old?.model ?? null;
  }

  /** Releases the serving model (at dispose). */
  async clear(): Promise<void> {
    const old = this.#current;
    this.#current = null;
    if (old) {
      old.retired = true;
      if (old.leases === 0) await this.#free(old);
    }
  }

  async #free(entry: Entry): Promise<void> {
    this.released++;
    await entry.model.session.release().catch(() => undefined);
  }
}
