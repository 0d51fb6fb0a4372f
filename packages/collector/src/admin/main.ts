/**
 * The edgeloop admin page: sign in with an admin key (kept in sessionStorage), pick a model, then review,
 * batches, rollout and metrics tabs over the collector's JSON API. Dependency-free; state lives in the URL
 * hash (`#tab:model`) so a reload keeps the place.
 */
import './admin.css';
import { listModels } from '@edgeloop/protocol';
import { api, ApiError, session } from './api.js';
import { h, replace } from './dom.js';
import type { View } from './views/view.js';
import { reviewView } from './views/review.js';
import { batchesView } from './views/batches.js';
import { rolloutView } from './views/rollout.js';
import { metricsView } from './views/metrics.js';

const views: Record<string, View> = {
  review: reviewView,
  batches: batchesView,
  rollout: rolloutView,
  metrics: metricsView,
};

function state(): { tab: string; model: string } {
  const [tab = 'review', model = ''] = decodeURIComponent(location.hash.slice(1)).split(':');
  return { tab: tab in views ? tab : 'review', model };
}

const status = h('p', { class: 'status', role: 'status' });
function say(text: string, error = false): void {
  status.className = error ? 'status error' : 'status';
  replace(status, text);
}

function signIn(): void {
  const key = h('input', {
    type: 'password',
    name: 'key',
    placeholder: 'admin key',
    required: true,
    autocomplete: 'off',
  });
  replace(
    document.body,
    h(
      'main',
      { class: 'signin' },
      h('h1', {}, 'edgeloop admin'),
      h(
        'form',
        {
          on: {
            submit: (event) => {
              event.preventDefault();
              session.set(key.value.trim());
              void start();
            },
          },
        },
        h('label', { for: 'key' }, 'Admin key'),
        key,
        h('button', { type: 'submit' }, 'Sign in'),
      ),
      h(
        'p',
        { class: 'muted' },
        'The key stays in this tab (sessionStorage) and is sent only as a Bearer header to this collector.',
      ),
      status,
    ),
  );
  key.id = 'key';
  key.focus();
}

async function render(content: HTMLElement): Promise<void> {
  const { tab, model } = state();
  for (const b of document.querySelectorAll<HTMLButtonElement>('nav button'))
    b.classList.toggle('active', b.dataset.tab === tab);
  if (!model) return replace(content, h('p', { class: 'muted' }, 'Type a model name above.'));
  replace(content, h('p', { class: 'muted' }, 'Loading…'));
  try {
    await views[tab]!.render(content, model, say);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401)
      return (session.clear(), signIn(), say('That key was refused: sign in again.', true));
    replace(content, h('p', { class: 'error' }, err instanceof Error ? err.message : String(err)));
  }
}

async function start(): Promise<void> {
  if (!session.key) return signIn();
  const models = h('datalist', {});
  models.id = 'models';
  const modelInput = h('input', {
    type: 'text',
    name: 'model',
    placeholder: 'model',
    list: 'models',
    value: state().model,
    autocomplete: 'off',
  });
  const content = h('section', { class: 'content' });
  const go = (tab: string, model: string) => {
    location.hash = `${tab}:${model}`;
  };
  replace(
    document.body,
    h(
      'header',
      {},
      h('h1', {}, 'edgeloop admin'),
      h(
        'form',
        { on: { submit: (e) => (e.preventDefault(), go(state().tab, modelInput.value.trim())) } },
        modelInput,
        models,
        h('button', { type: 'submit' }, 'Open'),
      ),
      h('button', { type: 'button', class: 'link', on: { click: () => (session.clear(), signIn()) } }, 'Sign out'),
    ),
    h(
      'nav',
      {},
      ...Object.entries(views).map(([tab, v]) =>
        h('button', { type: 'button', dataset: { tab }, on: { click: () => go(tab, state().model) } }, v.title),
      ),
    ),
    status,
    content,
  );
  window.onhashchange = () => void render(content);
  try {
    const list = await api(listModels, {});
    replace(models, ...list.models.map((m) => h('option', { value: m.model })));
    if (!state().model && list.models[0]) return go(state().tab, list.models[0].model);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401)
      return (session.clear(), signIn(), say('That key was refused: sign in again.', true));
  }
  await render(content);
}

void start();
