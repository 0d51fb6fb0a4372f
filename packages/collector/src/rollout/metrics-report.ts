/**
 * The per-version metrics report: totals over [since, until) and a series per time bucket, with drift as the
 * PSI of each version's label and confidence histograms against the stable version's over the whole window
 * (so stable's own series shows how its traffic moves, and a canary's total how it differs from stable).
 *
 * The correction rate shown here is counted over matching windows: a device counts its predictions and its
 * corrections in the same 60 s stats window, while the correction itself is sent at once, so dividing the
 * correction events by the predictions of the windows received so far overstates it (past 100 % with a few
 * users). Events beyond what the windows counted are reported apart, as `unmatchedCorrections`. The controller
 * keeps its own, cautious rate (version-metrics.ts): a canary's corrections count against it without delay.
 */
import {
  blindLoopOf,
  type BlindLoopReport,
  type BlindLoopOptions,
  type Drift,
  type MetricsReport,
  type SeriesPoint,
  type VersionReport,
} from '@edgeloop/protocol';
import type { Storage } from '../storage/index.js';
import { Tally, tallyWindow, type VersionFigures } from './version-metrics.js';
import { labelPsi, psi } from './psi.js';

/** Builds the report for one model; `bucketMs` must divide the window into a sensible number of buckets. */
export async function metricsReport(
  storage: Storage,
  model: string,
  since: number,
  until: number,
  bucketMs: number,
): Promise<MetricsReport> {
  const [rollout, tallies] = await Promise.all([
    storage.rollout.get(model),
    tallyWindow(storage.metrics, model, since, until, bucketMs),
  ]);
  const stable = rollout?.stable ?? null;
  const canary = rollout?.canary ?? null;
  const names = new Set(tallies.keys());
  if (stable) names.add(stable);
  if (canary) names.add(canary);

  const totals = new Map<string, VersionFigures>();
  const totalTallies = new Map<string, Tally>();
  for (const name of names) {
    const total = new Tally();
    for (const t of tallies.get(name)?.values() ?? []) total.absorb(t);
    totals.set(name, total.figures());
    totalTallies.set(name, total);
  }
  const ref = stable ? totals.get(stable) : undefined;
  const driftOf = (f: VersionFigures): Drift => ({
    label: ref ? labelPsi(ref.labelCounts, f.labelCounts) : null,
    confidence: ref ? psi(ref.confidenceHist, f.confidenceHist) : null,
  });

  const versions: VersionReport[] = [...names].map((name) => {
    const figures = totals.get(name)!;
    const series = [...(tallies.get(name) ?? new Map<number, Tally>())]
      .sort(([a], [b]) => a - b)
      .map(([bucket, t]): SeriesPoint => {
        const { confidenceHist: _h, labelCounts: _l, ...point } = t.figures();
        const from = since + bucket * bucketMs;
        return {
          from,
          to: Math.min(until, from + bucketMs),
          ...point,
          ...shownFigures(t),
          drift: driftOf(t.figures()),
        };
      });
    return {
      version: name,
      channel: name === stable ? 'stable' : name === canary ? 'canary' : null,
      ...figures,
      ...shownFigures(totalTallies.get(name)!),
      drift: driftOf(figures),
      blindLoop: blindLoopOf(figures),
      series,
    };
  });
  const rank = (v: VersionReport) => (v.channel === 'stable' ? 0 : v.channel === 'canary' ? 1 : 2);
  versions.sort((a, b) => rank(a) - rank(b) || b.predictions - a.predictions || (a.version < b.version ? -1 : 1));
  return {
    model,
    since,
    until,
    bucketSec: bucketMs / 1000,
    stable,
    canary,
    canaryPercent: rollout?.canaryPercent ?? 0,
    reference: ref ? stable : null,
    versions,
  };
}

/**
 * The mean confidence from the histogram, the correction rate over the stats windows alone, and the correction events those windows have not counted.
 * A window may hold the correction of a prediction counted in the window before it, so a bucket's numerator is
 * capped at its predictions: one correction per prediction at most.
 */
function shownFigures(t: Tally): {
  correctionRate: number | null;
  unmatchedCorrections: number;
  meanConfidence: number | null;
} {
  const binned = t.confidenceHist.reduce((a, n) => a + n, 0);
  const centred = t.confidenceHist.reduce((a, n, i) => a + n * ((i + 0.5) / t.confidenceHist.length), 0);
  return {
    meanConfidence: binned > 0 ? centred / binned : null,
    correctionRate: t.predictions > 0 ? Math.min(t.statsCorrections, t.predictions) / t.predictions : null,
    unmatchedCorrections: Math.max(0, t.correctionEvents - t.statsCorrections),
  };
}

/** The blind-loop guard per version over [since, until): stable and canary first, then versions by predictions. */
export async function blindLoopReport(
  storage: Storage,
  model: string,
  since: number,
  until: number,
  options: Partial<BlindLoopOptions> = {},
): Promise<BlindLoopReport> {
  const report = await metricsReport(storage, model, since, until, Math.max(1, until - since));
  return {
    model,
    since,
    until,
    versions: report.versions.map((v) => ({
      version: v.version,
      channel: v.channel,
      confidenceHist: v.confidenceHist,
      blindLoop: blindLoopOf(v, options),
    })),
  };
}
