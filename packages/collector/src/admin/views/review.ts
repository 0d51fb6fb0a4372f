/**
 * The review queue, made to be worked through from the keyboard: the current input with what the model said and
 * what users said, one button per label of the model (never free text), each with its key, a key to skip and one
 * to undo the last label, and the count left. Label keys: a label that is one character is its own key, the
 * others take 1–9 then 0 in order; → skips, Backspace (or Ctrl/⌘+Z) undoes. A multi-label model's input is labeled
 * with a set: its label buttons (and keys) toggle, and "Save set" (Enter) sends the labels chosen, none meaning that
 * none applies.
 */
import { deleteLabel, getReviewQueue, postLabel, type Review } from '@edgeloop/protocol';
import { api, ApiError } from '../api.js';
import { h, replace, time } from '../dom.js';
import { drawInput } from '../tensor.js';
import type { View } from './view.js';
// The wire shape of a queue item: the collector's own type, so the page and the route cannot drift apart.
import type { QueueItem } from '@edgeloop/protocol';

const POSITION_KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0'];
const SKIP_KEY = 'ArrowRight';
const SAVE_SET_KEY = 'Enter';
const UNDO_KEY = 'Backspace';

/** Each label's key: its own character when it is one, else the next free of 1–9, 0 by position (or none). */
export function labelKeys(labels: readonly string[]): Map<string, string> {
  const keys = new Map<string, string>();
  const used = new Set<string>();
  for (const l of labels)
    if ([...l].length === 1 && l.trim() !== '' && !used.has(l)) {
      keys.set(l, l);
      used.add(l);
    }
  const free = POSITION_KEYS.filter((k) => !used.has(k));
  for (const l of labels) if (!keys.has(l) && free.length) keys.set(l, free.shift()!);
  return keys;
}

/** What this tab remembers between its renders of one model: skipped inputs and the labels it can undo. */
interface Session {
  model: string;
  /** Skipped inputs, each with when it was skipped: they go last, the earliest skipped first. */
  skipped: Map<string, number>;
  undo: { review: Review; item: QueueItem }[];
  /** The input to show first on the next render (one whose label was just undone). */
  front: string | null;
}

let session: Session | null = null;
let skips = 0;
/** Stops the keyboard handler of the previous render. */
let stopKeys: AbortController | null = null;

function card(
  item: QueueItem,
  labels: readonly string[],
  keys: Map<string, string>,
  current: boolean,
  act: {
    label: (item: QueueItem, label: string | string[], comment: string) => void;
    skip: (item: QueueItem) => void;
  },
  multi: boolean,
): HTMLElement {
  const chosen = new Set<string>();
  const comment = h('input', {
    type: 'text',
    name: 'comment',
    placeholder: 'comment (optional)',
    maxLength: 2000,
    autocomplete: 'off',
  });
  const buttons = labels.map((l) =>
    h(
      'button',
      {
        type: 'button',
        class: 'label-button',
        dataset: { label: l },
        title: `${multi ? 'toggle' : 'label'} “${l}”${keys.has(l) ? ` (key ${keys.get(l)})` : ''}`,
        ...(multi ? { ariaPressed: 'false' } : {}),
        on: {
          click: (event: Event) => {
            if (!multi) return act.label(item, l, comment.value);
            if (chosen.has(l)) chosen.delete(l);
            else chosen.add(l);
            (event.currentTarget as HTMLElement).setAttribute('aria-pressed', String(chosen.has(l)));
          },
        },
      },
      h('span', { class: 'label-text' }, l),
      keys.has(l) ? h('kbd', {}, keys.get(l)) : null,
    ),
  );
  return h(
    'article',
    { class: current ? 'card current' : 'card', dataset: { inputHash: item.inputHash } },
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
              h(
                'li',
                {},
                h('strong', {}, c.labels ? setText(c.labels) : c.label),
                ` from ${c.deviceId}`,
                c.comment ? h('q', {}, c.comment) : null,
              ),
            ),
          )
        : null,
      h(
        'div',
        { class: 'label-form' },
        ...buttons,
        multi
          ? h(
              'button',
              {
                type: 'button',
                class: 'save-set',
                title: 'label the input with the labels chosen, none if none applies (key Enter)',
                on: {
                  click: () =>
                    act.label(
                      item,
                      labels.filter((l) => chosen.has(l)),
                      comment.value,
                    ),
                },
              },
              'Save set ',
              h('kbd', {}, '⏎'),
            )
          : null,
        h(
          'button',
          { type: 'button', class: 'skip', title: 'skip (key →)', on: { click: () => act.skip(item) } },
          'Skip ',
          h('kbd', {}, '→'),
        ),
      ),
      h('div', { class: 'label-form' }, comment),
    ),
  );
}

/** A label set as a reviewer reads it. */
function setText(labels: readonly string[]): string {
  return labels.length ? labels.join(' + ') : '(none)';
}

/** Whether a key press belongs to a text field (typing a comment labels nothing). */
function typing(event: KeyboardEvent): boolean {
  const t = event.target;
  return t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement;
}

export const reviewView: View = {
  title: 'Review',
  perModel: true,
  async render(root, model, say) {
    if (session?.model !== model) session = { model, skipped: new Map(), undo: [], front: null };
    const s = session;
    const data = await api(getReviewQueue, { params: { model }, query: { limit: 50 } });
    stopKeys?.abort();
    const stop = (stopKeys = new AbortController());
    /** True while a label, skip or undo is on its way: keys pressed meanwhile are ignored. */
    let busy = false;
    const reload = () =>
      void reviewView.render(root, model, say).catch((err: Error) => ((busy = false), say(err.message, true)));
    const labels = data.labels ?? [];
    const keys = labelKeys(labels);
    const multi = data.multiLabel === true;

    const present = new Set(data.items.map((i) => i.inputHash));
    for (const hash of s.skipped.keys()) if (!present.has(hash)) s.skipped.delete(hash);
    // The order to work in: an undone input first, then the queue's order, skipped inputs last.
    const rank = (i: QueueItem) => (i.inputHash === s.front ? -1 : (s.skipped.get(i.inputHash) ?? 0));
    const order = [...data.items].sort((a, b) => rank(a) - rank(b));
    s.front = null;
    const current = order[0];

    const act = {
      label: (item: QueueItem, label: string | string[], comment: string) => {
        if (busy) return;
        busy = true;
        const given = typeof label === 'string' ? { label } : { labels: label };
        const body = comment ? { ...given, comment } : given;
        api(postLabel, { params: { id: item.predictionId }, body })
          .then((review) => {
            s.undo.push({ review, item });
            s.skipped.delete(item.inputHash);
            say(`Labeled ${item.inputHash.slice(0, 12)}… as “${typeof label === 'string' ? label : setText(label)}”.`);
            reload();
          })
          .catch((err: Error) => ((busy = false), say(err.message, true)));
      },
      skip: (item: QueueItem) => {
        if (busy) return;
        busy = true;
        s.skipped.set(item.inputHash, ++skips);
        say(`Skipped ${item.inputHash.slice(0, 12)}….`);
        reload();
      },
      undo: () => {
        const last = s.undo.at(-1);
        if (busy) return;
        if (!last) return say('Nothing to undo.', true);
        busy = true;
        api(deleteLabel, { params: { id: last.review.id } })
          .then(() => {
            s.undo.pop();
            s.front = last.item.inputHash;
            const what = last.review.labels ? setText(last.review.labels) : last.review.label;
            say(`Undid the label “${what}” of ${last.item.inputHash.slice(0, 12)}….`);
            reload();
          })
          .catch((err: Error) => {
            busy = false;
            // A batch took it: it can never be undone, so it leaves the undo list.
            if (err instanceof ApiError && err.code === 'EL_REVIEW_IN_BATCH') s.undo.pop();
            say(err.message, true);
          });
      },
    };

    const undoButton = h(
      'button',
      {
        type: 'button',
        class: 'undo',
        title: 'undo the last label (key Backspace)',
        disabled: s.undo.length === 0,
        on: { click: () => act.undo() },
      },
      'Undo last label ',
      h('kbd', {}, '⌫'),
    );
    const shown = data.items.length;
    const left = h(
      'p',
      { class: 'left', dataset: { left: String(data.total) } },
      `${data.total} left to review`,
      data.total > shown ? ` (the first ${shown} are shown)` : '',
      s.skipped.size ? ` · ${s.skipped.size} skipped` : '',
      '.',
    );
    replace(
      root,
      h('div', { class: 'actions review-bar' }, left, undoButton),
      data.labels === null
        ? h(
            'p',
            { class: 'error no-labels' },
            `Model “${model}” has no version yet, so there are no labels to give: publish one first.`,
          )
        : h(
            'p',
            { class: 'muted keys' },
            'Keys: ',
            ...labels.flatMap((l) => (keys.has(l) ? [h('kbd', {}, keys.get(l)), ` ${l} · `] : [])),
            ...(multi ? [h('kbd', {}, '⏎'), ' save the set · '] : []),
            h('kbd', {}, '→'),
            ' skip · ',
            h('kbd', {}, '⌫'),
            ' undo',
          ),
      ...order.map((item) => card(item, labels, keys, item === current, act, multi)),
    );

    const byKey = new Map([...keys].map(([label, key]) => [key, label]));
    document.addEventListener(
      'keydown',
      (event) => {
        if (!root.contains(left)) return stop.abort(); // another tab or model was rendered since
        if (event.repeat || typing(event) || event.altKey) return;
        const undoKey =
          (event.key === UNDO_KEY && !event.ctrlKey && !event.metaKey) ||
          ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'z');
        if (undoKey) return (event.preventDefault(), act.undo());
        if (event.ctrlKey || event.metaKey || !current) return;
        if (event.key === SKIP_KEY) return (event.preventDefault(), act.skip(current));
        const card = root.querySelector<HTMLElement>('article.current');
        if (multi && event.key === SAVE_SET_KEY)
          return (event.preventDefault(), card?.querySelector<HTMLButtonElement>('button.save-set')?.click());
        const label = byKey.get(event.key);
        if (label === undefined) return;
        event.preventDefault();
        // A multi-label model's key toggles the label on the current input, as its button does.
        if (multi) {
          const buttons = card?.querySelectorAll<HTMLButtonElement>('button.label-button') ?? [];
          return [...buttons].find((b) => b.dataset.label === label)?.click();
        }
        const comment = root.querySelector<HTMLInputElement>('article.current input[name=comment]')?.value ?? '';
        act.label(current, label, comment);
      },
      { signal: stop.signal },
    );
  },
};
