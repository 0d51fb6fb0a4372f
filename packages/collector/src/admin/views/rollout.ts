/** Models, versions and rollout: who runs what, promote or roll back with a reason, and the audit history. */
import {
  getRollout,
  getRolloutHistory,
  listVersions,
  promoteCanary,
  rollbackCanary,
  type AuditEntry,
  type Rollout,
  type Version,
} from '@edgeloop/protocol';
import { api } from '../api.js';
import { h, replace, table, time } from '../dom.js';
import type { View } from './view.js';

const describe = (r: Rollout | null | undefined) =>
  r ? `stable ${r.stable ?? '—'}${r.canary ? `, canary ${r.canary} at ${r.canaryPercent} %` : ''}` : '—';

export const rolloutView: View = {
  title: 'Rollout',
  async render(root, model, say) {
    const [rollout, versions, history] = await Promise.all([
      api(getRollout, { params: { model } }),
      api(listVersions, { params: { model } }),
      api(getRolloutHistory, { params: { model }, query: { limit: 50 } }),
    ]);
    const reason = h('input', {
      type: 'text',
      name: 'reason',
      placeholder: 'reason (required)',
      maxLength: 500,
      autocomplete: 'off',
    });
    const act = (action: 'promote' | 'rollback') => () => {
      if (!reason.value.trim()) return say('Say why in the reason field first.', true);
      api(action === 'promote' ? promoteCanary : rollbackCanary, { params: { model }, body: { reason: reason.value } })
        .then(
          (r) => (
            say(`${action === 'promote' ? 'Promoted' : 'Rolled back'}: ${describe(r)}.`),
            rolloutView.render(root, model, say)
          ),
        )
        .catch((err: Error) => say(err.message, true));
    };
    const live = rollout.canary !== null;
    replace(
      root,
      h('h2', {}, 'Rollout'),
      h(
        'p',
        {},
        describe(rollout),
        rollout.auto
          ? ` · automatic: +${rollout.auto.stepPercent} % every ${rollout.auto.intervalSec} s up to ${rollout.auto.maxPercent} %`
          : ' · manual',
      ),
      h(
        'p',
        { class: 'actions' },
        reason,
        h('button', { type: 'button', disabled: !live, on: { click: act('promote') } }, 'Promote canary'),
        h(
          'button',
          { type: 'button', class: 'danger', disabled: !live, on: { click: act('rollback') } },
          'Roll back canary',
        ),
      ),
      h('h2', {}, 'Versions'),
      table<Version>(
        [
          ['Version', (v) => h('code', {}, v.version)],
          ['Created', (v) => `${time(v.createdAt)} by ${v.createdBy}`],
          ['Parent', (v) => v.meta.parent ?? '—'],
          ['Batches', (v) => v.meta.batches.length],
          ['Gate', (v) => (v.meta.gate ? (v.meta.gate.pass ? 'passed' : 'failed') : '—')],
          ['Code', (v) => v.meta.codeVersion],
        ],
        versions.versions,
        'No version published yet.',
      ),
      h('h2', {}, 'History'),
      table<AuditEntry>(
        [
          ['When', (e) => time(e.at)],
          ['Who', (e) => e.actor],
          ['What', (e) => e.action],
          ['Why', (e) => e.reason],
          ['Before', (e) => describe(e.before)],
          ['After', (e) => describe(e.after)],
        ],
        history.entries,
        'No change yet.',
      ),
    );
  },
};
