/** Labeled batches: the list with their counts, and the button that freezes the next one. */
import { listBatches, postBatch } from '@edgeloop/protocol';
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
    byLabel: Record<string, number>;
  };
}

const byLabel = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([label, n]) => `${label}: ${n}`)
    .join(', ');

export const batchesView: View = {
  title: 'Batches',
  async render(root, model, say) {
    const batches = await api(listBatches, { params: { model } });
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
          ['Examples', (b) => `${b.counts.examples} (${b.counts.train} train / ${b.counts.val} val)`],
          ['Reviewed / voted', (b) => `${b.counts.reviewed} / ${b.counts.voted}`],
          ['Ties → review', (b) => b.counts.tiesSentToReview],
          ['Capped votes', (b) => b.counts.cappedByDevice],
          ['No input', (b) => b.counts.withoutInput ?? 0],
          ['Golden left out', (b) => b.counts.excludedGolden ?? 0],
          ['By label', (b) => byLabel(b.counts.byLabel)],
          ['sha256', (b) => h('code', { title: b.sha256 }, `${b.sha256.slice(0, 12)}…`)],
        ],
        [...batches].reverse(),
        'No batch yet.',
      ),
    );
  },
};
