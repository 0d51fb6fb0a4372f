/** Per-version metrics: counts, rates, latency and drift against the stable reference. */
import { getMetrics, type VersionReport } from '@edgeloop/protocol';
import { api } from '../api.js';
import { h, pct, replace, table, time } from '../dom.js';
import type { View } from './view.js';

type Rate = number | null;

const num = (x: Rate, digits = 1) => (x === null ? '—' : x.toFixed(digits));

export const metricsView: View = {
  title: 'Metrics',
  async render(root, model) {
    const since = Date.now() - 7 * 86_400_000;
    const report = await api(getMetrics, { params: { model }, query: { since, bucket: 3600 } });
    replace(
      root,
      h(
        'p',
        { class: 'muted' },
        `From ${time(report.since)} to ${time(report.until)}; drift is PSI against ${report.reference ?? 'no reference'}.`,
      ),
      table<VersionReport>(
        [
          ['Version', (v) => h('code', {}, v.version)],
          ['Channel', (v) => v.channel ?? '—'],
          ['Predictions', (v) => v.predictions],
          ['Low confidence', (v) => pct(v.lowConfidenceRate)],
          ['Corrections', (v) => pct(v.correctionRate)],
          ['Errors', (v) => pct(v.errorRate)],
          ['Latency p50 / p95 (ms)', (v) => `${num(v.latencyMs.p50)} / ${num(v.latencyMs.p95)}`],
          ['Drift label / confidence', (v) => `${num(v.drift.label, 3)} / ${num(v.drift.confidence, 3)}`],
          // A blind loop learns nothing: every confidence sits in the top bin, nothing is low-confidence.
          [
            'Blind loop',
            (v) =>
              v.blindLoop.blind
                ? h('strong', { class: 'error', title: v.blindLoop.reason ?? '' }, `blind: ${v.blindLoop.reason ?? ''}`)
                : v.blindLoop.reason
                  ? h('span', { class: 'muted' }, 'not judged yet')
                  : 'no',
          ],
        ],
        report.versions,
        'No stats reported in the last 7 days.',
      ),
    );
  },
};
