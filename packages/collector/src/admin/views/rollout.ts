/**
 * Rollout controls: who runs what, the controller's next decision, and every control a person needs, each with
 * a required reason that goes into the audit log: start a canary of any version, raise its percent, pause or
 * resume the automatic policy, promote, roll back. Then the audit log, filterable by action and by text.
 */
import {
  getCanaryDecision,
  getRollout,
  getRolloutHistory,
  listVersions,
  pauseAuto,
  postCanary,
  postCanaryPercent,
  promoteCanary,
  resumeAuto,
  rollbackCanary,
  type AuditEntry,
  type Rollout,
} from '@edgeloop/protocol';
import { api } from '../api.js';
import { h, replace, table, time } from '../dom.js';
import { decisionPanel } from './decision.js';
import type { Say, View } from './view.js';

const describe = (r: Rollout | null | undefined) =>
  r ? `stable ${r.stable ?? '—'}${r.canary ? `, canary ${r.canary} at ${r.canaryPercent} %` : ''}` : '—';

/** A rollout in an audit row: who runs what, and whether the automatic policy was on, paused or off. */
const state = (r: Rollout | null | undefined) =>
  r ? `${describe(r)}; ${r.auto ? (r.auto.paused ? 'auto paused' : 'auto') : 'manual'}` : '—';

function policy(r: Rollout): string {
  if (!r.auto) return 'Manual: no automatic policy.';
  const a = r.auto;
  const rule =
    `+${a.stepPercent} % every ${a.intervalSec} s up to ${a.maxPercent} % once each side has ${a.minSamples} ` +
    `predictions; rolls back when the canary is ${(a.maxCorrectionRateDelta * 100).toFixed(1)} points worse`;
  if (a.paused) return `Automatic policy paused (${rule}).`;
  return r.canary ? `Automatic policy: ${rule}.` : `Automatic policy for the next canary: ${rule}.`;
}

const HISTORY_LIMIT = 500;

/** The audit log table under its filters (action, free text over who and why). */
function auditLog(entries: AuditEntry[]): HTMLElement {
  const actions = [...new Set(entries.map((e) => e.action))].sort();
  const action = h(
    'select',
    { name: 'action', title: 'action' },
    h('option', { value: '' }, 'every action'),
    ...actions.map((a) => h('option', { value: a }, a)),
  );
  const text = h('input', { type: 'search', name: 'filter', placeholder: 'who or why contains…', autocomplete: 'off' });
  const humans = h('input', { type: 'checkbox', name: 'people' });
  const rows = h('div', {});
  const draw = () => {
    const q = text.value.trim().toLowerCase();
    const shown = entries.filter(
      (e) =>
        (!action.value || e.action === action.value) &&
        (!humans.checked || e.actor !== 'controller') &&
        (!q || e.actor.toLowerCase().includes(q) || e.reason.toLowerCase().includes(q)),
    );
    replace(
      rows,
      h(
        'p',
        { class: 'muted count', dataset: { shown: String(shown.length) } },
        `${shown.length} of ${entries.length} entries`,
      ),
      table<AuditEntry>(
        [
          ['When', (e) => time(e.at)],
          ['Who', (e) => e.actor],
          ['What', (e) => h('code', {}, e.action)],
          ['Why', (e) => e.reason],
          ['Before', (e) => state(e.before)],
          ['After', (e) => state(e.after)],
        ],
        shown,
        'No entry matches.',
      ),
    );
  };
  for (const el of [action, humans]) el.addEventListener('change', draw);
  text.addEventListener('input', draw);
  draw();
  return h(
    'section',
    { class: 'audit' },
    h('h3', {}, 'Audit log'),
    h('p', { class: 'actions filters' }, action, text, h('label', {}, humans, ' people only')),
    rows,
  );
}

export const rolloutView: View = {
  title: 'Rollout',
  perModel: true,
  async render(root, model, say) {
    const [rollout, versions, history, decision] = await Promise.all([
      api(getRollout, { params: { model } }),
      api(listVersions, { params: { model } }),
      api(getRolloutHistory, { params: { model }, query: { limit: HISTORY_LIMIT } }),
      api(getCanaryDecision, { params: { model } }),
    ]);
    const reason = h('input', {
      type: 'text',
      name: 'reason',
      placeholder: 'reason (required, goes into the audit log)',
      maxLength: 500,
      autocomplete: 'off',
    });
    const live = rollout.canary !== null;
    const candidates = versions.versions.filter((v) => v.version !== rollout.stable);
    const version = h(
      'select',
      { name: 'version', title: 'version' },
      ...candidates.map((v) =>
        h(
          'option',
          { value: v.version, selected: v.version === rollout.canary },
          `${v.version}${v.meta.gate ? (v.meta.gate.pass ? ' (gate passed)' : ' (gate failed)') : ''}`,
        ),
      ),
    );
    const startPercent = h('input', {
      type: 'number',
      name: 'start-percent',
      min: '0.01',
      max: '100',
      step: 'any',
      value: '10',
    });
    const percent = h('input', {
      type: 'number',
      name: 'percent',
      min: String(rollout.canaryPercent),
      max: '100',
      step: 'any',
      value: String(Math.min(100, rollout.canaryPercent + 10)),
      disabled: !live,
    });
    const run = (what: string, call: (why: string) => Promise<Rollout>) => () => {
      const why = reason.value.trim();
      if (!why)
        return (say(`Say why in the reason field first: ${what} is written to the audit log.`, true), reason.focus());
      call(why)
        .then((r) => rerender(say, `${what}: ${describe(r)}.`))
        .catch((err: Error) => say(err.message, true));
    };
    const rerender = (s: Say, text: string) =>
      rolloutView.render(root, model, s).then(
        () => s(text),
        (err: Error) => s(err.message, true),
      );
    const paused = rollout.auto?.paused === true;
    const button = (name: string, label: string, disabled: boolean, onClick: () => void, danger = false) =>
      h('button', { type: 'button', name, class: danger ? 'danger' : '', disabled, on: { click: onClick } }, label);

    replace(
      root,
      h('h2', {}, 'Rollout ', h('code', {}, model)),
      h('p', { class: 'now' }, h('strong', {}, describe(rollout)), '. ', policy(rollout)),
      decisionPanel(decision),
      h(
        'section',
        { class: 'controls panel' },
        h('h3', {}, 'Change the rollout'),
        h('p', { class: 'actions' }, h('label', { for: 'reason' }, 'Reason '), reason),
        h(
          'p',
          { class: 'actions' },
          'Canary ',
          version,
          ' at ',
          startPercent,
          ' % ',
          button(
            'start',
            live ? 'Replace the canary' : 'Start canary',
            candidates.length === 0,
            run('Canary started', (why) =>
              api(postCanary, {
                params: { model },
                body: { version: version.value, percent: Number(startPercent.value), reason: why },
              }),
            ),
          ),
        ),
        h(
          'p',
          { class: 'actions' },
          'Canary percent ',
          percent,
          ' % ',
          button(
            'set-percent',
            'Set percent',
            !live,
            run('Percent set', (why) =>
              api(postCanaryPercent, { params: { model }, body: { percent: Number(percent.value), reason: why } }),
            ),
          ),
          h(
            'span',
            { class: 'muted' },
            live ? ' only up: a device that ran the canary stays on it while it lives' : ' no canary',
          ),
        ),
        h(
          'p',
          { class: 'actions' },
          paused
            ? button(
                'resume',
                'Resume automatic policy',
                !rollout.auto,
                run('Resumed', (why) => api(resumeAuto, { params: { model }, body: { reason: why } })),
              )
            : button(
                'pause',
                'Pause automatic policy',
                !rollout.auto,
                run('Paused', (why) => api(pauseAuto, { params: { model }, body: { reason: why } })),
              ),
          button(
            'promote',
            'Promote canary',
            !live,
            run('Promoted', (why) => api(promoteCanary, { params: { model }, body: { reason: why } })),
          ),
          button(
            'rollback',
            'Roll back canary',
            !live,
            run('Rolled back', (why) => api(rollbackCanary, { params: { model }, body: { reason: why } })),
            true,
          ),
        ),
      ),
      auditLog(history.entries),
    );
    reason.id = 'reason';
  },
};
