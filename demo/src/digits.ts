/**
 * The simulated users' digits: real MNIST digits (the trainer's `drift` part, never in the golden set; see
 * vite.config.ts), drawn in a chosen style by the trainer's own drift transforms (`@edgeloop/trainer/drift`).
 */
import { DRIFTS, type ExampleSet } from '@edgeloop/trainer/drift';

/** How the simulated users draw: as MNIST did (`plain`), or one of the trainer's drifts. */
export const STYLES = ['plain', ...Object.keys(DRIFTS)] as const;
export type Style = string;

const LABELS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const PIXELS = 28 * 28;

/** Real digits, each with its true label, in every style asked for so far. */
export class DigitBook {
  readonly #plain: ExampleSet;
  readonly #styled = new Map<Style, ExampleSet>();

  private constructor(plain: ExampleSet) {
    this.#plain = plain;
  }

  /** Fetches the digits the demo's build wrote (`/mnist/drift.bin`: count, labels, pixels). */
  static async load(url = new URL('/mnist/drift.bin', location.href).href): Promise<DigitBook> {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`the MNIST digits could not be fetched from ${url} (HTTP ${res.status})`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const count = new DataView(bytes.buffer).getUint32(0, true);
    const y = Int32Array.from(bytes.subarray(4, 4 + count));
    const x = new Float32Array(count * PIXELS);
    const pixels = bytes.subarray(4 + count);
    for (let i = 0; i < x.length; i++) x[i] = pixels[i]! / 255;
    return new DigitBook({ x, y, count, shape: [28, 28, 1], labels: LABELS });
  }

  get count(): number {
    return this.#plain.count;
  }

  /** Digit `i` drawn in `style`: its pixels (28 × 28 × 1, [0, 1]) and its true label. */
  digit(i: number, style: Style): { input: Float32Array; label: string } {
    const set = this.#set(style);
    const n = i % set.count;
    return { input: set.x.slice(n * PIXELS, (n + 1) * PIXELS), label: LABELS[set.y[n]!]! };
  }

  #set(style: Style): ExampleSet {
    if (style === 'plain') return this.#plain;
    let set = this.#styled.get(style);
    if (!set) {
      const drift = DRIFTS[style];
      if (!drift) throw new Error(`unknown style "${style}": one of ${STYLES.join(', ')}`);
      // The whole book at once: the transforms work on sets, and a style is asked for many times.
      set = drift(this.#plain);
      this.#styled.set(style, set);
    }
    return set;
  }
}
