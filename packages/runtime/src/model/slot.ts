/**
 * The ModelSlot holds the serving model. A swap replaces it between two predictions; predictions already
 * running keep their lease on the old model, which is released when the last of them finishes.
 */
import type { Manifest } from '@edgeloop/protocol';
import type { EngineName, EngineSession } from '../engines/types.js';
import type { ModelIO } from './io.js';

export interface LoadedModel {
  manifest: Manifest;
  engine: EngineName;
  session: EngineSession;
  /** How the app's input becomes the model's and its output scored probabilities, compiled at load. */
  io: ModelIO;
}

/** A lease on a model: predictions hold one while they run, so a swap never releases a model in use. */
export interface Lease {
  readonly model: LoadedModel;
  leases: number;
  retired: boolean;
}

export class ModelSlot {
  #current: Lease | null = null;
  /** Sessions created and released, for leak checks. */
  loaded = 0;
  released = 0;

  get model(): LoadedModel | null {
    return this.#current?.model ?? null;
  }

  /** Takes a lease on the serving model (synchronously, so a swap cannot slip in between); give it back once. */
  acquire(): Lease | null {
    const entry = this.#current;
    if (entry) entry.leases++;
    return entry;
  }

  /** Gives a lease back; a retired model is released with its last lease. */
  release(entry: Lease): void {
    entry.leases--;
    if (entry.retired && entry.leases === 0) this.#freeLater(entry);
  }

  /** Makes `next` the serving model; the previous one is released once idle. Returns the previous model. */
  swap(next: LoadedModel): LoadedModel | null {
    const old = this.#current;
    this.#current = { model: next, leases: 0, retired: false };
    this.loaded++;
    if (old) {
      old.retired = true;
      if (old.leases === 0) this.#freeLater(old);
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

  /**
   * Releasing a session is engine work (WASM frees, GPU buffers): it runs in a task of its own, after the
   * swap or the last prediction on the old model, so neither that prediction nor one queued behind it waits.
   */
  #freeLater(entry: Lease): void {
    this.released++;
    setTimeout(() => void entry.model.session.release().catch(() => undefined), 0);
  }

  async #free(entry: Lease): Promise<void> {
    this.released++;
    await entry.model.session.release().catch(() => undefined);
  }
}
