/**
 * A model's versions, newest first, each with its full gate report (every check: stable, candidate, threshold,
 * pass or fail; the calibration's ECE before and after), its metrics, the trainer's config (tables of candidates
 * where the trainer stored them) and its lineage: the batches it was trained on and the events each came from.
 */
import {
  getBatchLineage,
  getRollout,
  listVersions,
  type GateMetric,
  type GateReport,
  type Lineage,
  type Version,
} from '@edgeloop/protocol';
import { api } from '../api.js';
import { badge, h, num, replace, table, time, type Child } from '../dom.js';
import type { View } from './view.js';

const value = (x: number | null) => (x === null ? '—' : Number.isInteger(x) ? String(x) : x.toFixed(4));

function gateTable(gate: GateReport): HTMLElement {
  return h(
    'div',
    { class: 'gate' },
    h('h4', {}, 'Gate ', gate.pass ? badge('passed', 'ok') : badge('failed', 'bad')),
    table<GateMetric>(
      [
        ['Check', (m) => m.name],
        ['Stable', (m) => value(m.stable)],
        ['Candidate', (m) => value(m.candidate)],
        ['Threshold', (m) => value(m.threshold)],
        ['Result', (m) => (m.pass ? badge('pass', 'ok') : badge('fail', 'bad'))],
      ],
      gate.metrics,
      'The gate recorded no checks.',
    ),
    gate.calibration
      ? h(
          'p',
          { class: 'calibration' },
          `Calibration: temperature ${num(gate.calibration.temperature, 3)}, ECE ${num(gate.calibration.ece.before, 4)} → `,
          h('strong', {}, num(gate.calibration.ece.after, 4)),
          ` (fitted on ${gate.calibration.fittedOn}, measured on ${gate.calibration.measuredOn} examples)`,
        )
      : h('p', { class: 'muted' }, 'No calibration recorded.'),
    gate.advice?.length ? h('ul', { class: 'advice' }, ...gate.advice.map((a) => h('li', {}, a))) : null,
    gate.notes?.length ? h('ul', { class: 'notes muted' }, ...gate.notes.map((a) => h('li', {}, a))) : null,
  );
}

const isRecordList = (x: unknown): x is Record<string, unknown>[] =>
  Array.isArray(x) && x.length > 0 && x.every((r) => r !== null && typeof r === 'object' && !Array.isArray(r));

const show = (x: unknown): string => (typeof x === 'string' ? x : JSON.stringify(x));

/** The trainer's config: scalars as a key/value table, lists of records (a candidate table) as tables. */
function configTable(config: Record<string, unknown>): HTMLElement {
  const lists = Object.entries(config).filter(([, v]) => isRecordList(v)) as [string, Record<string, unknown>[]][];
  const plain = Object.entries(config).filter(([, v]) => !isRecordList(v));
  return h(
    'div',
    { class: 'trainer-config' },
    h('h4', {}, 'Trainer config'),
    table<[string, unknown]>(
      [
        ['Setting', ([k]) => k],
        ['Value', ([, v]) => h('code', {}, show(v))],
      ],
      plain,
      'No trainer config recorded.',
    ),
    ...lists.flatMap(([name, rows]) => {
      const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
      return [
        h('h4', {}, name),
        table<Record<string, unknown>>(
          columns.map((c) => [c, (r) => show(r[c] ?? '—')] as [string, (r: Record<string, unknown>) => Child]),
          rows,
        ),
      ];
    }),
  );
}

/** The version's batches and the events each was made from, counted by kind. */
async function lineage(model: string, v: Version, into: HTMLElement): Promise<void> {
  if (v.meta.batches.length === 0) return replace(into, h('p', { class: 'muted' }, 'Trained on no batch.'));
  const found = await Promise.all(
    v.meta.batches.map((id) => api(getBatchLineage, { params: { id } }).catch(() => ({ id, missing: true }) as const)),
  );
  replace(
    into,
    h('h4', {}, `Lineage: ${v.version} ← ${v.meta.batches.length} batch(es) ← their events`),
    table<Lineage | { id: string; missing: true }>(
      [
        ['Batch', (b) => h('code', {}, 'missing' in b ? b.id : b.batch.id)],
        ['Created', (b) => ('missing' in b ? '—' : time(b.batch.createdAt))],
        ['Examples', (b) => ('missing' in b ? '—' : b.batch.counts.examples)],
        ['Events', (b) => ('missing' in b ? 'not found' : b.sources.length)],
        [
          'By kind',
          (b) => {
            if ('missing' in b) return '—';
            const kinds = new Map<string, number>();
            for (const s of b.sources)
              kinds.set(`${s.kind} (${s.role})`, (kinds.get(`${s.kind} (${s.role})`) ?? 0) + 1);
            return [...kinds].map(([k, n]) => `${n} ${k}`).join(', ') || '—';
          },
        ],
      ],
      found,
    ),
    h('p', { class: 'muted' }, `Model ${model}, parent ${v.meta.parent ?? 'none'}.`),
  );
}

function versionCard(model: string, v: Version, channel: string | null, open: boolean): HTMLElement {
  const lineageBox = h('div', { class: 'lineage' }, h('p', { class: 'muted' }, 'Loading lineage…'));
  const metrics = Object.entries(v.meta.metrics);
  const details = h(
    'details',
    { class: 'version panel', open, dataset: { version: v.version } },
    h(
      'summary',
      {},
      h('code', {}, v.version),
      ' ',
      channel ? badge(channel, channel === 'stable' ? 'info' : 'warn') : null,
      ' ',
      v.meta.gate
        ? v.meta.gate.pass
          ? badge('gate passed', 'ok')
          : badge('gate failed', 'bad')
        : badge('no gate', 'info'),
      ` · ${time(v.createdAt)} by ${v.createdBy} · parent ${v.meta.parent ?? '—'} · ${v.meta.batches.length} batch(es) · code ${v.meta.codeVersion}`,
    ),
    v.meta.gate ? gateTable(v.meta.gate) : h('p', { class: 'muted' }, 'No gate report: published without a gate.'),
    metrics.length
      ? h(
          'div',
          {},
          h('h4', {}, 'Metrics'),
          table<[string, number]>(
            [
              ['Metric', ([k]) => k],
              ['Value', ([, x]) => value(x)],
            ],
            metrics,
          ),
        )
      : null,
    configTable(v.meta.trainer),
    lineageBox,
  );
  let loaded = false;
  const load = () => {
    if (loaded || !details.open) return;
    loaded = true;
    lineage(model, v, lineageBox).catch((err: Error) => replace(lineageBox, h('p', { class: 'error' }, err.message)));
  };
  details.addEventListener('toggle', load);
  if (open) load();
  return details;
}

export const versionsView: View = {
  title: 'Versions',
  perModel: true,
  async render(root, model) {
    const [{ versions }, rollout] = await Promise.all([
      api(listVersions, { params: { model } }),
      api(getRollout, { params: { model } }),
    ]);
    const channel = (v: string) => (v === rollout.stable ? 'stable' : v === rollout.canary ? 'canary' : null);
    replace(
      root,
      h('h2', {}, 'Versions ', h('code', {}, model)),
      versions.length === 0
        ? h('p', { class: 'muted' }, 'No version published yet.')
        : h('div', {}, ...versions.map((v, i) => versionCard(model, v, channel(v.version), i === 0))),
    );
  },
};
