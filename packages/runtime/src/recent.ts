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
  #ring: Float32Array | Uint8Array = new Float32Array(0);
  #size = 0;
  #next = 0;

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
    }
    const slot = this.#next;
    this.#next = (slot + 1) % this.#capacity;
    this.#ring.set(input, slot * size);
    rec.slot = slot;
    this.#map.set(rec.id, rec);
    if (this.#map.size > this.#capacity) this.#map.delete(this.#map.keys().next().value!);
  }

  get(id: string): Recent | undefined {
    return this.#map.get(id);
  }

  /** The raw input of a remembered prediction (a copy). */
  input(rec: Recent): Float32Array | Uint8Array {
    return rec.raw ?? this.#ring.slice(rec.slot * this.#size, (rec.slot + 1) * this.#size);
  }
}
