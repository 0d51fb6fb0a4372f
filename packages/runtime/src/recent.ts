/**
 * The last predictions, kept so they can be reported wrong later, and the inputs of kept predictions until the
 * capture task has read them. Every input is copied once, with one typed-array `set`, into a preallocated ring
 * (no allocation per prediction, nothing for the garbage collector); records sit in an array by ring slot, so
 * remembering one is two stores (no Map, no hashing of the id on the prediction path).
 *
 * A kept prediction's input is read from its ring slot by the capture task. Only if the ring must reuse that slot
 * before the capture task ran (more predictions than the ring holds without yielding to the event loop) is the
 * input first copied aside into a spill slab; the capture task reads it from there, and the slab is reused
 * once every capture waiting on it has been read.
 */
import type { InputSpec } from '@edgeloop/protocol';
import type { ModelInput, Prediction } from './types.js';
import type { KeepReason } from './policy.js';

export interface Recent {
  id: string;
  result: Prediction;
  version: string;
  shape: number[];
  ts: number;
  /** Why it waits for the capture task, or `null` once captured (or if it was never kept). */
  keep: KeepReason | null;
  /** Its input, copied aside when the ring reused its slot before capture; else `null` (read from the ring). */
  spilled: Float32Array | Uint8Array | null;
  slot: number;
}

type Values = Float32Array | Uint8Array;

const SPILL_KEEP_BYTES = 1 << 20;

export class RecentPredictions {
  readonly #capacity: number;
  #recs: (Recent | undefined)[] = [];
  #ring: Values = new Float32Array(0);
  #uint8 = false;
  #size = -1;
  #next = 0;
  #spill: Values = new Float32Array(0);
  #spillAt = 0;

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
  }

  /** Remembers a prediction and copies its input into the ring (overwriting the oldest, which is forgotten). */
  add(rec: Recent, input: ModelInput, spec: InputSpec): void {
    const size = input.length;
    const uint8 = spec.dtype === 'uint8';
    if (size !== this.#size || uint8 !== this.#uint8) {
      // A model with another input: earlier predictions cannot be reported any more; captures still waiting
      // keep their input.
      for (const r of this.#recs) if (r?.keep) this.#spillOut(r);
      this.#ring = uint8 ? new Uint8Array(this.#capacity * size) : new Float32Array(this.#capacity * size);
      this.#uint8 = uint8;
      this.#size = size;
      this.#recs = [];
      this.#next = 0;
    }
    const slot = this.#next;
    this.#next = slot + 1 === this.#capacity ? 0 : slot + 1;
    const old = this.#recs[slot];
    if (old?.keep) this.#spillOut(old);
    this.#ring.set(input, slot * size);
    rec.slot = slot;
    this.#recs[slot] = rec;
  }

  /** A remembered prediction by id (newest first; only reports look predictions up). */
  get(id: string): Recent | undefined {
    const n = this.#recs.length;
    for (let k = 1; k <= n; k++) {
      const r = this.#recs[(this.#next - k + n) % n];
      if (r?.id === id) return r;
    }
    return undefined;
  }

  /**
   * The raw input of a prediction that is remembered or waiting for capture: a view, valid until the next
   * `add()` or `captured()`, so read it at once.
   */
  input(rec: Recent): Values {
    return rec.spilled ?? this.#ring.subarray(rec.slot * this.#size, (rec.slot + 1) * this.#size);
  }

  /** The capture task has read these records' inputs: they no longer hold their slot, and the spill slab is free. */
  captured(recs: readonly Recent[]): void {
    for (const r of recs) {
      r.keep = null;
      r.spilled = null;
    }
    this.#spillAt = 0;
    if (this.#spill.byteLength > SPILL_KEEP_BYTES) this.#spill = new Float32Array(0);
  }

  #spillOut(rec: Recent): void {
    const size = this.#size;
    const uint8 = this.#uint8;
    if (this.#spillAt + size > this.#spill.length || uint8 !== this.#spill instanceof Uint8Array) {
      // Views already handed out keep the old slab alive until they are read; new ones go into a fresh slab.
      const n = Math.max(16 * size, 2 * this.#spill.length);
      this.#spill = uint8 ? new Uint8Array(n) : new Float32Array(n);
      this.#spillAt = 0;
    }
    const from = rec.slot * size;
    const view = this.#spill.subarray(this.#spillAt, this.#spillAt + size);
    view.set(this.#ring.subarray(from, from + size));
    this.#spillAt += size;
    rec.spilled = view;
  }
}
