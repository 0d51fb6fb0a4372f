/**
 * Labeled batches: the list with their counts and lineage (the versions trained on each, the events each was
 * made from), and the button that freezes the next one.
 */
import { getBatchLineage, listBatches, listVersions, postBatch } from '@edgeloop/protocol';
import { api } from '../api.js';
import { h, replace, table, time } from '../dom.js';
import type { View } from './view.js';

interface Batch {
  id: string;
  sha256: string;
  createdAt: number;
  counts: {
    examples: number;
    train: number;
    val: number;
    reviewed: number;
    voted: number;
    tiesSentToReview: number;
    cappedByDevice: number;
    withoutInput?: number;
    excludedGolden?: number;
    events?: number;
    byLabel: Record<string, number>;
  };
}

const byLabel = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([label, n]) => `${label}: ${n}`)
    .join(', ');

const LINEAGE_SHOWN = 20;

export const batchesView: View = {
  title: 'Batches',
  perModel: true,
  async render(root, model, say) {
    const [batches, versions] = await Promise.all([
      api(listBatches, { params: { model } }),
      api(listVersions, { params: { model } }).catch(() => ({ versions: [] })),
    ]);
    const usedBy = (id: string) =>
      versions.versions
        .filter((v) => v.meta.batches.includes(id))
        .map((v) => v.version)
        .join(', ') || '—';
    // Events per batch: counted at the freeze; for a batch frozen before that was counted, from its lineage (one
    // request each, the whole lineage: megabytes for a large batch), for the latest batches only.
    const newest = [...batches].reverse();
    const events = new Map<string, number>(
      await Promise.all(
        newest
          .slice(0, LINEAGE_SHOWN)
          .map(
            async (b) =>
              [b.id, b.counts.events ?? (await api(getBatchLineage, { params: { id: b.id } })).sources.length] as const,
          ),
      ),
    );
    const freeze = h(
      'button',
      {
        type: 'button',
        on: {
          click: () => {
            freeze.disabled = true;
            api(postBatch, { params: { model } })
              .then(
                (b) => (
                  say(`Froze batch ${b.id} with ${b.counts.examples} example(s).`),
                  batchesView.render(root, model, say)
                ),
              )
              .catch((err: Error) => (say(err.message, true), (freeze.disabled = false)));
          },
        },
      },
      'Freeze a batch now',
    );
    replace(
      root,
      h('p', {}, freeze, ' ', h('span', { class: 'muted' }, 'from everything labeled since the last batch.')),
      table<Batch>(
        [
          ['Created', (b) => time(b.createdAt)],
          ['Id', (b) => h('code', {}, b.id)],
          ['Used by', (b) => usedBy(b.id)],
          ['Events', (b) => events.get(b.id) ?? '…'],
          ['Examples', (b) => `${b.counts.examples} (${b.counts.train} train / ${b.counts.val} val)`],
          ['Reviewed / voted', (b) => `${b.counts.reviewed} / ${b.counts.voted}`],
          ['Ties → review', (b) => b.counts.tiesSentToReview],
          ['Capped votes', (b) => b.counts.cappedByDevice],
          ['No input', (b) => b.counts.withoutInput ?? 0],
          ['Golden left out', (b) => b.counts.excludedGolden ?? 0],
          ['By label', (b) => byLabel(b.counts.byLabel)],
          ['sha256', (b) => h('code', { title: b.sha256 }, `${b.sha256.slice(0, 12)}…`)],
        ],
        newest,
        'No batch yet.',
      ),
    );
  },
};
