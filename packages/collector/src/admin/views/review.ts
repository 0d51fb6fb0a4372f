/** The review queue: each input with what the model said and what users said, and a form to label it. */
import { getReviewQueue, postLabel } from '@edgeloop/protocol';
import { api } from '../api.js';
import { h, replace, time } from '../dom.js';
import { drawInput } from '../tensor.js';
import type { View } from './view.js';
// The wire shape of a queue item: the collector's own type, so the page and the route cannot drift apart.
import type { QueueItem } from '@edgeloop/protocol';

function card(item: QueueItem, onLabeled: () => void, say: (text: string, error?: boolean) => void): HTMLElement {
  const label = h('input', {
    type: 'text',
    name: 'label',
    placeholder: 'label',
    required: true,
    maxLength: 64,
    autocomplete: 'off',
  });
  const comment = h('input', {
    type: 'text',
    name: 'comment',
    placeholder: 'comment (optional)',
    maxLength: 2000,
    autocomplete: 'off',
  });
  const form = h(
    'form',
    {
      class: 'label-form',
      on: {
        submit: (event) => {
          event.preventDefault();
          const body = comment.value ? { label: label.value, comment: comment.value } : { label: label.value };
          api(postLabel, { params: { id: item.predictionId }, body })
            .then(() => (say(`Labeled ${item.inputHash.slice(0, 12)}… as “${label.value}”.`), onLabeled()))
            .catch((err: Error) => say(err.message, true));
        },
      },
    },
    label,
    comment,
    h('button', { type: 'submit' }, 'Save label'),
  );
  return h(
    'article',
    { class: 'card', dataset: { inputHash: item.inputHash } },
    drawInput(item.input),
    h(
      'div',
      { class: 'details' },
      h(
        'p',
        {},
        h('strong', { class: 'predicted' }, item.predicted.label),
        ` at ${(item.predicted.confidence * 100).toFixed(0)} % · `,
        item.reason === 'tie' ? 'tied vote' : 'low confidence',
      ),
      h(
        'p',
        { class: 'muted' },
        `${item.predictions} prediction(s), first seen ${time(item.firstSeen)} · ${item.inputHash.slice(0, 16)}…`,
      ),
      item.corrections.length
        ? h(
            'ul',
            { class: 'corrections' },
            ...item.corrections.map((c) =>
              h('li', {}, h('strong', {}, c.label), ` from ${c.deviceId}`, c.comment ? h('q', {}, c.comment) : null),
            ),
          )
        : null,
      form,
    ),
  );
}

export const reviewView: View = {
  title: 'Review',
  async render(root, model, say) {
    const data = await api(getReviewQueue, { params: { model }, query: { limit: 50 } });
    const reload = () => void reviewView.render(root, model, say).catch((err: Error) => say(err.message, true));
    replace(
      root,
      h(
        'p',
        { class: 'muted' },
        `${data.total} input(s) waiting for a person${data.total > data.items.length ? `; the first ${data.items.length} are shown` : ''}.`,
      ),
      ...data.items.map((item) => card(item, reload, say)),
    );
  },
};
