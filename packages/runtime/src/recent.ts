/**
 * The last predictions, kept so they can be reported wrong later: results in a Map, inputs copied into one
 * preallocated ring (no allocation per prediction, nothing for the garbage collector to promote).
 */
import type { InputSpec } from '@edgeloop/protocol';
import type { ModelInput, Prediction } from './types.js';

export interface Recent {
  id: string;
  result: Prediction;
  version: string;
  shape: number[];
  ts: number;
  /** A copy taken at prediction time (kept predictions), else read back from the ring. */
  raw: Float32Array | Uint8Array | null;
  slot: number;
}

export class RecentPredictions {
  readonly #map = new Map<string, Recent>();
  readonly #capacity: number;
  /** The id held in each slot, so the one a new prediction overwrites is forgotten without a Map iterator. */
  #ids: (string | undefined)[] = [];
  #ring: Float32Array | Uint8Array = new Float32Array(0);
  #size = 0;
  #next = 0;
  /** Inputs of kept predictions waiting for the capture task, in one slab reused once they are drained. */
  #held: Float32Array | Uint8Array = new Float32Array(0);
  #heldCount = 0;

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
  }

  /** Remembers a prediction and copies its input into the ring (overwriting the oldest, which is forgotten). */
  add(rec: Recent, input: ModelInput, spec: InputSpec): void {
    const size = input.length;
    const uint8 = spec.dtype === 'uint8';
    if (size !== this.#size || uint8 !== (this.#ring instanceof Uint8Array)) {
      // A model with another input: earlier inputs cannot be read back any more.
      this.#ring = uint8 ? new Uint8Array(this.#capacity * size) : new Float32Array(this.#capacity * size);
      this.#size = size;
      this.#map.clear();
      this.#ids = [];
    }
    const slot = this.#next;
    this.#next = slot + 1 === this.#capacity ? 0 : slot + 1;
    this.#ring.set(input, slot * size);
    rec.slot = slot;
    const old = this.#ids[slot];
    if (old !== undefined) this.#map.delete(old);
    this.#ids[slot] = rec.id;
    this.#map.set(rec.id, rec);
  }

  /**
   * Copies the input of the prediction just added aside (one typed-array set into a preallocated slab), so the
   * ring may overwrite its slot before the capture task reads it; `rec.raw` views it until `drained()`.
   */
  hold(rec: Recent, input: ModelInput): void {
    const size = this.#size;
    let at = this.#heldCount * size;
    if (this.#held.length < at + size || this.#held instanceof Uint8Array !== this.#ring instanceof Uint8Array) {
      // Earlier views keep the old slab alive; a model with another input starts a new one.
      const same = this.#held instanceof Uint8Array === this.#ring instanceof Uint8Array && this.#held.length % size === 0;
      if (!same) at = 0;
      const n = Math.max(16 * size, 2 * (at + size));
      const next = this.#ring instanceof Uint8Array ? new Uint8Array(n) : new Float32Array(n);
      if (same) next.set(this.#held.subarray(0, at));
      this.#held = next;
    }
    this.#held.set(input, at);
    this.#heldCount = at / size + 1;
    rec.raw = this.#held.subarray(at, at + size);
  }

  /** The capture task has read every held input: forget the views and reuse the slab (dropped past 1 MB). */
  drained(recs: readonly Recent[]): void {
    for (const r of recs) r.raw = null;
    this.#heldCount = 0;
    if (this.#held.byteLength > 1 << 20) this.#held = new Float32Array(0);
  }

  get(id: string): Recent | undefined {
    return this.#map.get(id);
  }

  /** The raw input of a remembered prediction: a view, to be read at once (before the next prediction). */
  input(rec: Recent): Float32Array | Uint8Array {
    return rec.raw ?? this.#ring.subarray(rec.slot * this.#size, (rec.slot + 1) * this.#size);
  }
}
