/**
 * Time-series charts with uPlot (small, fast, canvas; no inline script or style markup, so it keeps to the
 * page's CSP): one chart per figure, one line per version, the versions' buckets aligned on one time axis.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { SeriesPoint, VersionReport } from '@edgeloop/protocol';
import { h } from './dom.js';

/** Stable blue, canary orange, then other versions in muted colours. */
const COLORS = { stable: '#2a5bd7', canary: '#e07a10', other: ['#5a8f29', '#8e44ad', '#7f8c8d', '#b03a5b'] };

export interface Figure {
  title: string;
  /** The value of one bucket (null: no data in it). */
  value(p: SeriesPoint): number | null;
  /** How a value reads on the axis and in the legend. */
  format: 'count' | 'percent' | 'ms' | 'ratio';
}

const formatOf = (f: Figure['format']) => (v: number | null | undefined) =>
  v === null || v === undefined
    ? '—'
    : f === 'percent'
      ? `${(v * 100).toFixed(1)} %`
      : f === 'ms'
        ? `${v.toFixed(1)} ms`
        : f === 'ratio'
          ? v.toFixed(3)
          : String(Math.round(v));

/** The versions charted: stable and canary first, then the busiest others, at most `max`. */
export function chartedVersions(versions: readonly VersionReport[], max = 6): VersionReport[] {
  return versions.filter((v) => v.series.length > 0).slice(0, max);
}

/** One chart of `figure` over `versions` in a figure element (its data also on `data-points` for tests). */
export function chart(
  figure: Figure,
  versions: readonly VersionReport[],
  width: number,
  window: { since: number; until: number },
): HTMLElement {
  const xs = [...new Set(versions.flatMap((v) => v.series.map((p) => p.from)))].sort((a, b) => a - b);
  const ys = versions.map((v) => {
    const at = new Map(v.series.map((p) => [p.from, figure.value(p)]));
    return xs.map((x) => at.get(x) ?? null);
  });
  const fmt = formatOf(figure.format);
  let other = 0;
  const series: uPlot.Series[] = [
    {},
    ...versions.map((v) => ({
      label: v.channel ? `${v.version} (${v.channel})` : v.version,
      stroke:
        v.channel === 'stable'
          ? COLORS.stable
          : v.channel === 'canary'
            ? COLORS.canary
            : COLORS.other[other++ % COLORS.other.length],
      width: 2,
      points: { show: true, size: 4 },
      value: (_u: uPlot, val: number | null) => fmt(val),
    })),
  ];
  const box = h('figure', {
    class: 'chart',
    dataset: {
      figure: figure.title,
      points: String(ys.reduce((n, y) => n + y.filter((v) => v !== null).length, 0)),
    },
  });
  box.appendChild(h('figcaption', {}, figure.title));
  const plot = h('div', {});
  box.appendChild(plot);
  new uPlot(
    {
      width,
      height: 170,
      series,
      scales: {
        // The whole window, so switching it shows where in it the data lies.
        x: { time: true, range: [window.since / 1000, window.until / 1000] },
        y: figure.format === 'percent' ? { range: (_u, _min, max) => [0, Math.max(0.05, max)] } : {},
      },
      axes: [{}, { values: (_u, splits) => splits.map((v) => fmt(v)), size: 64 }],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    },
    [xs.map((x) => x / 1000), ...ys],
    plot,
  );
  return box;
}

/** The figures the dashboard charts. */
export const FIGURES: Figure[] = [
  { title: 'Predictions', value: (p) => p.predictions, format: 'count' },
  { title: 'Correction rate', value: (p) => p.correctionRate, format: 'percent' },
  { title: 'Low-confidence rate', value: (p) => p.lowConfidenceRate, format: 'percent' },
  { title: 'Mean confidence', value: (p) => p.meanConfidence, format: 'percent' },
  { title: 'Latency p50', value: (p) => p.latencyMs.p50, format: 'ms' },
  { title: 'Latency p95', value: (p) => p.latencyMs.p95, format: 'ms' },
  { title: 'Error rate', value: (p) => p.errorRate, format: 'percent' },
  { title: 'Drift (label PSI vs stable)', value: (p) => p.drift.label, format: 'ratio' },
];
