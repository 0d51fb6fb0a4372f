/**
 * Every model with its health at a glance: who runs what (stable, canary at its percent, the automatic policy),
 * the last 24 hours' predictions and correction rates, and the blind-loop flag of any version.
 */
import {
  getMetrics,
  getRollout,
  listModels,
  type MetricsReport,
  type ModelEntry,
  type Rollout,
} from '@edgeloop/protocol';
import { api } from '../api.js';
import { badge, h, pct, replace, table, time } from '../dom.js';
import type { View } from './view.js';

const DAY_MS = 86_400_000;

interface Row {
  entry: ModelEntry;
  rollout: Rollout | null;
  report: MetricsReport | null;
}

const side = (r: MetricsReport | null, channel: 'stable' | 'canary') => r?.versions.find((v) => v.channel === channel);

function health(row: Row): HTMLElement {
  const blind = row.report?.versions.filter((v) => v.blindLoop.blind) ?? [];
  if (blind.length) return badge(`blind loop: ${blind.map((v) => v.version).join(', ')}`, 'bad');
  const stable = side(row.report, 'stable');
  const canary = side(row.report, 'canary');
  if (!stable || stable.predictions === 0) return badge('no traffic in 24 h', 'info');
  if (canary && canary.correctionRate !== null && stable.correctionRate !== null) {
    const delta = canary.correctionRate - stable.correctionRate;
    const allowed = row.rollout?.auto?.maxCorrectionRateDelta ?? 0.02;
    if (delta > allowed) return badge('canary worse', 'bad');
  }
  return badge('ok', 'ok');
}

function policy(r: Rollout | null): string {
  if (!r?.auto) return 'manual';
  return r.auto.paused ? 'automatic (paused)' : 'automatic';
}

export const modelsView: View = {
  title: 'Models',
  perModel: false,
  async render(root) {
    const { models } = await api(listModels, {});
    const until = Date.now() + 1;
    const rows: Row[] = await Promise.all(
      models.map(async (entry) => {
        const [rollout, report] = await Promise.all([
          api(getRollout, { params: { model: entry.model } }).catch(() => null),
          api(getMetrics, {
            params: { model: entry.model },
            query: { since: until - DAY_MS, until, bucket: DAY_MS / 1000 },
          }).catch(() => null),
        ]);
        return { entry, rollout, report };
      }),
    );
    replace(
      root,
      h('h2', {}, 'Models'),
      table<Row>(
        [
          [
            'Model',
            (r) => h('a', { href: `#metrics:${r.entry.model}`, dataset: { model: r.entry.model } }, r.entry.model),
          ],
          ['Health', health],
          ['Stable', (r) => (r.entry.stable ? h('code', {}, r.entry.stable) : '—')],
          [
            'Canary',
            (r) =>
              r.entry.canary ? h('span', {}, h('code', {}, r.entry.canary), ` at ${r.entry.canaryPercent} %`) : '—',
          ],
          ['Policy', (r) => policy(r.rollout)],
          ['Predictions (24 h)', (r) => (r.report ? r.report.versions.reduce((n, v) => n + v.predictions, 0) : '—')],
          ['Corrections stable', (r) => pct(side(r.report, 'stable')?.correctionRate)],
          ['Corrections canary', (r) => pct(side(r.report, 'canary')?.correctionRate)],
          ['Versions', (r) => `${r.entry.versions} (latest ${r.entry.latest})`],
          ['Updated', (r) => time(r.entry.updatedAt)],
        ],
        rows,
        'No model registered yet: publish one with edgeloop-trainer.',
      ),
    );
  },
};
