/**
 * The edgeloop admin console: sign in with an admin key (kept in sessionStorage), then the model list, and per
 * model a dashboard, the review queue, versions, batches and rollout over the collector's typed API. State lives
 * in the URL hash (`#tab:model:window`) so a reload or a shared link keeps the place.
 */
import './admin.css';
import { getRolloutHistory, listModels } from '@edgeloop/protocol';
import { api, ApiError, session } from './api.js';
import { h, replace } from './dom.js';
import type { View } from './views/view.js';
import { modelsView } from './views/models.js';
import { dashboardView } from './views/dashboard.js';
import { reviewView } from './views/review.js';
import { versionsView } from './views/versions.js';
import { batchesView } from './views/batches.js';
import { rolloutView } from './views/rollout.js';

const views: Record<string, View> = {
  models: modelsView,
  metrics: dashboardView,
  review: reviewView,
  versions: versionsView,
  batches: batchesView,
  rollout: rolloutView,
};

function state(): { tab: string; model: string; arg: string } {
  const [tab = '', model = '', arg = ''] = decodeURIComponent(location.hash.slice(1)).split(':');
  return { tab: tab in views ? tab : model ? 'metrics' : 'models', model, arg };
}

function go(tab: string, model: string, arg = ''): void {
  const parts = [tab, model, arg];
  while (parts.length > 1 && !parts[parts.length - 1]) parts.pop();
  location.hash = parts.join(':');
}

const status = h('p', { class: 'status', role: 'status' });
function say(text: string, error = false): void {
  status.className = error ? 'status error' : 'status';
  replace(status, text);
}

/** Back to the sign-in form with why (a refused or non-admin key). */
function refused(err: unknown): boolean {
  if (!(err instanceof ApiError) || (err.status !== 401 && err.status !== 403)) return false;
  session.clear();
  signIn();
  say(
    err.status === 401 ? 'That key was refused: sign in again.' : 'That key is not an admin key: sign in with one.',
    true,
  );
  return true;
}

function signIn(): void {
  const key = h('input', {
    type: 'password',
    name: 'key',
    id: 'key',
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
  key.focus();
}

/** The model picker: every registered model, plus the one in the URL when it has no version yet. */
function syncPicker(picker: HTMLSelectElement, models: string[]): void {
  const { model } = state();
  const names = model && !models.includes(model) ? [...models, model] : models;
  replace(
    picker,
    h('option', { value: '' }, names.length ? 'choose a model…' : 'no model yet'),
    ...names.map((m) => h('option', { value: m, selected: m === model }, m)),
  );
  picker.value = model;
}

async function render(content: HTMLElement, picker: HTMLSelectElement, models: string[]): Promise<void> {
  const { tab, model, arg } = state();
  const view = views[tab]!;
  // A message belongs to the tab that said it: a new tab starts with a clean status line.
  say('');
  syncPicker(picker, models);
  for (const b of document.querySelectorAll<HTMLButtonElement>('nav button')) {
    b.classList.toggle('active', b.dataset.tab === tab);
    b.disabled = views[b.dataset.tab ?? '']!.perModel && !model;
  }
  if (view.perModel && !model) return replace(content, h('p', { class: 'muted' }, 'Choose a model above.'));
  replace(content, h('p', { class: 'muted' }, 'Loading…'));
  try {
    await view.render(content, view.perModel ? model : '', say, arg);
  } catch (err) {
    if (refused(err)) return;
    replace(content, h('p', { class: 'error' }, err instanceof Error ? err.message : String(err)));
  }
}

async function start(): Promise<void> {
  if (!session.key) return signIn();
  say('');
  let models: string[];
  try {
    models = (await api(listModels, {})).models.map((m) => m.model);
    // A trainer key lists models too: ask for one admin-only answer (one audit entry) to tell them apart.
    await api(getRolloutHistory, { params: { model: models[0] ?? 'edgeloop' }, query: { limit: 1 } });
  } catch (err) {
    if (refused(err)) return;
    models = [];
    say(err instanceof Error ? err.message : String(err), true);
  }
  const picker = h('select', {
    name: 'model',
    title: 'model',
    on: { change: () => go(state().tab === 'models' ? 'metrics' : state().tab, picker.value) },
  });
  const content = h('section', { class: 'content' });
  replace(
    document.body,
    h(
      'header',
      {},
      h('h1', {}, h('a', { href: '#models' }, 'edgeloop admin')),
      picker,
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
  window.onhashchange = () => void render(content, picker, models);
  await render(content, picker, models);
}

void start();
