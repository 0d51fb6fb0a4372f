/**
 * Per-version figures from `stats` events (the denominators: predictions, low-confidence counts, latency,
 * histograms) and from `correction` / `error` events. A runtime reports a correction both as its own event and
 * in its window's counters, and either may arrive later than the other, so each numerator is the larger of the
 * two counts: never counted twice, never missed.
 */
import type { StatsEvent } from '@edgeloop/protocol';
import type { BucketCount, MetricsStore } from './types.js';

export const HIST_BINS = 10;

/** A running sum of one version's events over some window. */
export class Tally {
  predictions = 0;
  lowConfidence = 0;
  statsCorrections = 0;
  statsErrors = 0;
  correctionEvents = 0;
  errorEvents = 0;
  private latencyWeight = 0;
  private p50Sum = 0;
  private p95Sum = 0;
  readonly confidenceHist: number[] = new Array<number>(HIST_BINS).fill(0);
  readonly labelCounts = new Map<string, number>();

  /** Adds one device's window of counters. */
  addStats(s: StatsEvent): void {
    this.predictions += s.predictions;
    this.lowConfidence += s.lowConfidence;
    this.statsCorrections += s.corrections;
    this.statsErrors += s.errors;
    // Window percentiles cannot be merged exactly; weighting them by predictions is the usual estimate.
    if (s.predictions > 0) {
      this.latencyWeight += s.predictions;
      this.p50Sum += s.latencyMs.p50 * s.predictions;
      this.p95Sum += s.latencyMs.p95 * s.predictions;
    }
    s.confidenceHist.forEach((n, i) => {
      if (i < HIST_BINS) this.confidenceHist[i]! += n;
    });
    for (const [label, n] of Object.entries(s.labelCounts))
      this.labelCounts.set(label, (this.labelCounts.get(label) ?? 0) + n);
  }

  /** Adds another tally of the same version (e.g. a bucket into the window's total). */
  absorb(t: Tally): void {
    this.predictions += t.predictions;
    this.lowConfidence += t.lowConfidence;
    this.statsCorrections += t.statsCorrections;
    this.statsErrors += t.statsErrors;
    this.correctionEvents += t.correctionEvents;
    this.errorEvents += t.errorEvents;
    this.latencyWeight += t.latencyWeight;
    this.p50Sum += t.p50Sum;
    this.p95Sum += t.p95Sum;
    t.confidenceHist.forEach((n, i) => (this.confidenceHist[i]! += n));
    for (const [label, n] of t.labelCounts) this.labelCounts.set(label, (this.labelCounts.get(label) ?? 0) + n);
  }

  get corrections(): number {
    return Math.max(this.statsCorrections, this.correctionEvents);
  }

  get errors(): number {
    return Math.max(this.statsErrors, this.errorEvents);
  }

  /** The figures the API and the canary analysis use. */
  figures(): VersionFigures {
    const { predictions, corrections, errors } = this;
    return {
      predictions,
      lowConfidence: this.lowConfidence,
      corrections,
      errors,
      lowConfidenceRate: rate(this.lowConfidence, predictions),
      correctionRate: rate(corrections, predictions),
      // A canary that fails to load makes no predictions at all; counting attempts keeps its error rate at 1, not ∞.
      errorRate: rate(errors, predictions + errors),
      latencyMs: {
        p50: this.latencyWeight > 0 ? this.p50Sum / this.latencyWeight : null,
        p95: this.latencyWeight > 0 ? this.p95Sum / this.latencyWeight : null,
      },
      confidenceHist: [...this.confidenceHist],
      labelCounts: Object.fromEntries([...this.labelCounts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    };
  }
}

export interface VersionFigures {
  predictions: number;
  lowConfidence: number;
  corrections: number;
  errors: number;
  lowConfidenceRate: number | null;
  correctionRate: number | null;
  /** errors / (predictions + errors). */
  errorRate: number | null;
  latencyMs: { p50: number | null; p95: number | null };
  confidenceHist: number[];
  labelCounts: Record<string, number>;
}

function rate(n: number, d: number): number | null {
  return d > 0 ? n / d : null;
}

/** Tallies per version and per bucket of `bucketMs` from `since` (bucket index = floor((receivedAt − since) / bucketMs)). */
export async function tallyWindow(
  metrics: MetricsStore,
  model: string,
  since: number,
  until: number,
  bucketMs: number,
  versions?: readonly string[],
): Promise<Map<string, Map<number, Tally>>> {
  const [stats, corrections, errors] = await Promise.all([
    metrics.stats(model, since, until, versions),
    metrics.counts(model, 'correction', since, until, bucketMs),
    metrics.counts(model, 'error', since, until, bucketMs),
  ]);
  const wanted = versions && new Set(versions);
  const out = new Map<string, Map<number, Tally>>();
  const at = (version: string, bucket: number): Tally => {
    let byBucket = out.get(version);
    if (!byBucket) out.set(version, (byBucket = new Map()));
    let t = byBucket.get(bucket);
    if (!t) byBucket.set(bucket, (t = new Tally()));
    return t;
  };
  for (const row of stats) at(row.version, Math.floor((row.receivedAt - since) / bucketMs)).addStats(row.stats);
  const addCounts = (rows: BucketCount[], field: 'correctionEvents' | 'errorEvents') => {
    for (const r of rows) if (!wanted || wanted.has(r.version)) at(r.version, r.bucket)[field] += r.n;
  };
  addCounts(corrections, 'correctionEvents');
  addCounts(errors, 'errorEvents');
  return out;
}

/** One tally per version over the whole window [since, until). */
export async function measureVersions(
  metrics: MetricsStore,
  model: string,
  versions: readonly string[],
  since: number,
  until: number,
): Promise<Map<string, VersionFigures>> {
  const window = Math.max(1, until - since);
  const tallies = await tallyWindow(metrics, model, since, until, window, versions);
  const out = new Map<string, VersionFigures>();
  for (const v of versions) out.set(v, (tallies.get(v)?.get(0) ?? new Tally()).figures());
  return out;
}
