/** The automatic canary's next decision and why, with the two sides it compares (dashboard and rollout tabs). */
import type { CanaryDecision, SideFigures } from '@edgeloop/protocol';
import { badge, h, pct, table, time } from '../dom.js';

const STATE: Record<CanaryDecision['state'], [string, 'ok' | 'bad' | 'warn' | 'info']> = {
  'no-canary': ['no canary', 'info'],
  manual: ['manual', 'info'],
  paused: ['paused', 'warn'],
  waiting: ['automatic', 'ok'],
  due: ['automatic, due now', 'ok'],
};

const ACTION: Record<string, 'ok' | 'bad' | 'warn' | 'info'> = {
  step: 'ok',
  promote: 'ok',
  rollback: 'bad',
  hold: 'warn',
};

/** The panel: state, next action, the sentence that says why, and the compared figures. */
export function decisionPanel(d: CanaryDecision): HTMLElement {
  const [stateText, stateKind] = STATE[d.state];
  const sides = [d.stable, d.canary].filter((s): s is SideFigures => s !== null);
  return h(
    'section',
    { class: 'decision panel', dataset: { state: d.state, action: d.next?.action ?? '' } },
    h(
      'h3',
      {},
      'Controller: ',
      badge(stateText, stateKind),
      ...(d.next
        ? [
            ' next: ',
            badge(d.next.action + (d.next.percent !== null ? ` → ${d.next.percent} %` : ''), ACTION[d.next.action]),
          ]
        : []),
    ),
    h('p', { class: 'summary' }, d.summary),
    d.window
      ? h(
          'p',
          { class: 'muted' },
          `Window since ${time(d.window.since)}${d.dueAt ? `; judges next at ${time(d.dueAt)}` : ''}. ` +
            'The controller counts a correction as soon as it arrives, before its stats window.',
        )
      : null,
    sides.length
      ? table<SideFigures>(
          [
            ['Side', (s) => (s === d.stable ? 'stable' : 'canary')],
            ['Version', (s) => h('code', {}, s.version)],
            ['Predictions', (s) => s.predictions],
            ['Correction rate', (s) => pct(s.correctionRate)],
            ['Low confidence', (s) => pct(s.lowConfidenceRate)],
            ['Error rate', (s) => pct(s.errorRate)],
          ],
          sides,
        )
      : null,
  );
}
