/**
 * A model's dashboard: canary against stable side by side with the controller's next decision, charts per
 * version over a chosen window (1 h, 24 h, 7 d, 30 d), and the per-version table. Aggregated on the server: the
 * page asks for one bucketed report, whatever the number of events.
 */
import { getCanaryDecision, getMetrics, type MetricsReport, type VersionReport } from '@edgeloop/protocol';
import { api } from '../api.js';
import { badge, h, num, pct, replace, table, time } from '../dom.js';
import { chart, chartedVersions, FIGURES } from '../charts.js';
import { decisionPanel } from './decision.js';
import type { View } from './view.js';

/** Each window with its bucket: about 60 to 170 points a line. */
export const WINDOWS: Record<string, { label: string; ms: number; bucketSec: number }> = {
  '1h': { label: '1 h', ms: 3_600_000, bucketSec: 60 },
  '24h': { label: '24 h', ms: 86_400_000, bucketSec: 900 },
  '7d': { label: '7 d', ms: 7 * 86_400_000, bucketSec: 3600 },
  '30d': { label: '30 d', ms: 30 * 86_400_000, bucketSec: 6 * 3600 },
};
const DEFAULT_WINDOW = '24h';

/** The correction rate with the correction events its stats windows have not counted yet. */
function corrections(v: VersionReport): string {
  return `${pct(v.correctionRate)}${v.unmatchedCorrections ? ` (+${v.unmatchedCorrections} awaiting stats)` : ''}`;
}

function blind(v: VersionReport): HTMLElement | string {
  // A blind loop learns nothing: every confidence sits in the top bin, nothing is low-confidence.
  if (v.blindLoop.blind)
    return h('strong', { class: 'error', title: v.blindLoop.reason ?? '' }, `blind: ${v.blindLoop.reason ?? ''}`);
  return v.blindLoop.reason ? h('span', { class: 'muted' }, 'not judged yet') : 'no';
}

/** One side (stable or canary) over the window. */
function sideCard(side: 'stable' | 'canary', v: VersionReport | undefined, report: MetricsReport): HTMLElement {
  if (!v)
    return h(
      'section',
      { class: `side panel ${side}` },
      h('h3', {}, side === 'stable' ? 'Stable' : 'Canary'),
      h('p', { class: 'muted' }, side === 'canary' ? 'No canary running.' : 'No stable version.'),
    );
  const rows: [string, string | HTMLElement][] = [
    ['Predictions', String(v.predictions)],
    ['Correction rate', corrections(v)],
    ['Low-confidence rate', pct(v.lowConfidenceRate)],
    ['Mean confidence', pct(v.meanConfidence)],
    ['Error rate', pct(v.errorRate)],
    ['Latency p50 / p95', `${num(v.latencyMs.p50)} / ${num(v.latencyMs.p95)} ms`],
    ['Drift (label / confidence PSI)', `${num(v.drift.label, 3)} / ${num(v.drift.confidence, 3)}`],
    ['Blind loop', blind(v)],
  ];
  return h(
    'section',
    { class: `side panel ${side}`, dataset: { version: v.version } },
    h(
      'h3',
      {},
      side === 'stable' ? 'Stable ' : 'Canary ',
      h('code', {}, v.version),
      side === 'canary' ? ` at ${report.canaryPercent} %` : '',
    ),
    h('dl', {}, ...rows.flatMap(([k, val]) => [h('dt', {}, k), h('dd', {}, val)])),
  );
}

export const dashboardView: View = {
  title: 'Dashboard',
  perModel: true,
  async render(root, model, _say, arg) {
    const key = arg && arg in WINDOWS ? arg : DEFAULT_WINDOW;
    const win = WINDOWS[key]!;
    const bucket = win.bucketSec * 1000;
    // Buckets aligned on the clock, so a reload draws the same points.
    const until = Math.ceil((Date.now() + 1) / bucket) * bucket;
    const [report, decision] = await Promise.all([
      api(getMetrics, { params: { model }, query: { since: until - win.ms, until, bucket: win.bucketSec } }),
      api(getCanaryDecision, { params: { model } }).catch(() => null),
    ]);
    const stable = report.versions.find((v) => v.channel === 'stable');
    const canary = report.versions.find((v) => v.channel === 'canary');
    const windows = h(
      'p',
      { class: 'windows actions', role: 'group', title: 'window' },
      'Window: ',
      ...Object.entries(WINDOWS).map(([k, w]) =>
        h(
          'a',
          { href: `#metrics:${model}:${k}`, class: k === key ? 'button active' : 'button', dataset: { window: k } },
          w.label,
        ),
      ),
    );
    const charts = h('div', { class: 'charts' });
    replace(
      root,
      h('h2', {}, 'Dashboard ', h('code', {}, model)),
      windows,
      h('div', { class: 'sides' }, sideCard('stable', stable, report), sideCard('canary', canary, report)),
      decision ? decisionPanel(decision) : null,
      h(
        'p',
        { class: 'muted' },
        `From ${time(report.since)} to ${time(report.until)}, ${win.bucketSec / 60}-minute buckets. ` +
          'Correction rate: corrections ÷ predictions of the same stats windows (never above 100 %); correction ' +
          'events whose window has not arrived yet are counted apart. Drift is PSI against ' +
          `${report.reference ?? 'no reference'}.`,
      ),
      charts,
      h('h3', {}, 'Every version in the window'),
      table<VersionReport>(
        [
          ['Version', (v) => h('code', {}, v.version)],
          ['Channel', (v) => (v.channel ? badge(v.channel, v.channel === 'stable' ? 'info' : 'warn') : '—')],
          ['Predictions', (v) => v.predictions],
          ['Low confidence', (v) => pct(v.lowConfidenceRate)],
          ['Corrections', (v) => corrections(v)],
          ['Errors', (v) => pct(v.errorRate)],
          ['Latency p50 / p95 (ms)', (v) => `${num(v.latencyMs.p50)} / ${num(v.latencyMs.p95)}`],
          ['Drift label / confidence', (v) => `${num(v.drift.label, 3)} / ${num(v.drift.confidence, 3)}`],
          ['Blind loop', blind],
        ],
        report.versions,
        `No stats reported in the last ${win.label}.`,
      ),
    );
    const shown = chartedVersions(report.versions);
    if (shown.length === 0) {
      charts.appendChild(h('p', { class: 'muted no-data' }, `No stats in the last ${win.label}: nothing to chart.`));
      return;
    }
    // Two charts a row on a wide screen; sized from the space they get.
    const width = Math.max(280, Math.min(600, Math.floor((root.clientWidth - 90) / 2)));
    for (const figure of FIGURES) charts.appendChild(chart(figure, shown, width, report));
  },
};
