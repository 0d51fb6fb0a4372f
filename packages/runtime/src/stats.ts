/**
 * Per-version counters for one window: the denominators the collector needs to compare a canary with stable
 * (predictions, low-confidence, corrections, errors, latency, confidence and label histograms).
 */
import type { StatsEvent } from '@edgeloop/protocol';
import { statsId } from './id.js';

interface Tally {
  predictions: number;
  lowConfidence: number;
  corrections: number;
  errors: number;
  latencies: number[];
  hist: number[];
  labels: Record<string, number>;
}

const MAX_LATENCIES = 10_000;

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export type StatsBody = Omit<StatsEvent, 'id' | 'model' | 'deviceId' | 'ts' | 'type'>;

/** The `stats` event of one closed window's body: its id made from the runtime's token, the window and version. */
export function statsEvent(
  body: StatsBody,
  seq: number,
  token: string,
  model: string,
  deviceId: string,
  ts: number,
): StatsEvent {
  return { ...body, id: statsId(token, body.from, seq, body.version), type: 'stats', model, deviceId, ts };
}

/** Which window a count went into: its number and start (what the page's copy needs to make the same ids). */
export interface WindowTag {
  seq: number;
  from: number;
}

export class StatsWindow {
  #from: number;
  /** The open window's number: 0 for the first, one more at every close. */
  seq = 0;

  constructor(from = Date.now()) {
    this.#from = from;
  }

  get tag(): WindowTag {
    return { seq: this.seq, from: this.#from };
  }

  readonly #byVersion = new Map<string, Tally>();
  /** The last version counted, so a run of predictions on one version skips the Map. */
  #last: { version: string; tally: Tally } | null = null;

  #tally(version: string): Tally {
    if (this.#last?.version === version) return this.#last.tally;
    let t = this.#byVersion.get(version);
    if (!t) {
      t = {
        predictions: 0,
        lowConfidence: 0,
        corrections: 0,
        errors: 0,
        latencies: [],
        hist: new Array<number>(10).fill(0),
        labels: {},
      };
      this.#byVersion.set(version, t);
    }
    this.#last = { version, tally: t };
    return t;
  }

  prediction(version: string, latencyMs: number, confidence: number, label: string, low: boolean): void {
    const t = this.#tally(version);
    t.predictions++;
    if (low) t.lowConfidence++;
    // Keep a bounded sample of latencies; beyond it, replace at random (reservoir) so quantiles stay fair.
    if (t.latencies.length < MAX_LATENCIES) t.latencies.push(latencyMs);
    else {
      const j = Math.floor(Math.random() * t.predictions);
      if (j < MAX_LATENCIES) t.latencies[j] = latencyMs;
    }
    t.hist[Math.min(9, Math.floor(confidence * 10))]!++;
    t.labels[label] = (t.labels[label] ?? 0) + 1;
  }

  correction(version: string): void {
    this.#tally(version).corrections++;
  }

  error(version: string): void {
    this.#tally(version).errors++;
  }

  /** Closes the window: one body per version that saw anything; `dropped` goes on the first. */
  close(now = Date.now(), dropped = 0, fallbackVersion: string | null = null): StatsBody[] {
    const out: StatsBody[] = [];
    if (dropped && this.#byVersion.size === 0 && fallbackVersion) this.#tally(fallbackVersion);
    for (const [version, t] of this.#byVersion) {
      const sorted = [...t.latencies].sort((a, b) => a - b);
      const clampMs = (ms: number) => Math.min(3.6e6, Math.max(0, ms));
      out.push({
        version,
        from: this.#from,
        to: Math.max(now, this.#from),
        predictions: t.predictions,
        lowConfidence: t.lowConfidence,
        corrections: t.corrections,
        errors: t.errors,
        ...(out.length === 0 && dropped ? { dropped } : {}),
        latencyMs: { p50: clampMs(quantile(sorted, 0.5)), p95: clampMs(quantile(sorted, 0.95)) },
        confidenceHist: t.hist,
        labelCounts: t.labels,
      });
    }
    this.#byVersion.clear();
    this.#last = null;
    this.#from = Math.max(now, this.#from);
    this.seq++;
    return out;
  }

  get empty(): boolean {
    return this.#byVersion.size === 0;
  }
}
