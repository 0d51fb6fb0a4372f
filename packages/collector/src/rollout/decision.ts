/**
 * The automatic canary's next decision, for a person: the verdict on the current window (what the controller
 * would write if it judged now), when it will judge, and why it may not (no canary, manual, paused).
 */
import type { CanaryDecision, SideFigures } from '@edgeloop/protocol';
import type { Storage } from '../storage/index.js';
import type { RolloutState } from './types.js';
import type { VersionFigures } from './version-metrics.js';
import { plainRollout } from './rules.js';
import { dueAt, judge } from './judge.js';

const side = (version: string, f: VersionFigures): SideFigures => ({
  version,
  predictions: f.predictions,
  lowConfidence: f.lowConfidence,
  corrections: f.corrections,
  errors: f.errors,
  lowConfidenceRate: f.lowConfidenceRate,
  correctionRate: f.correctionRate,
  errorRate: f.errorRate,
});

/** A wait for a person: `4 min 59 s`, `42 s`. */
const wait = (ms: number) => {
  const s = Math.ceil(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
};

/** The decision report of a model's stored rollout at `now`. */
export async function canaryDecision(storage: Storage, r: RolloutState, now: number): Promise<CanaryDecision> {
  const rollout = plainRollout(r);
  const none = { model: r.model, rollout, window: null, dueAt: null, stable: null, canary: null, next: null };
  if (r.canary === null || r.stable === null)
    return {
      ...none,
      state: 'no-canary',
      summary: r.auto
        ? 'No canary: the automatic policy applies to the next canary started.'
        : 'No canary, and no automatic policy.',
    };
  const live = { ...r, canary: r.canary, stable: r.stable };
  if (r.auto === null) {
    return {
      ...none,
      state: 'manual',
      summary: `Manual rollout: canary ${r.canary} stays at ${r.canaryPercent} % until someone promotes or rolls it back.`,
    };
  }
  const { stable, canary, verdict } = await judge(storage, { ...live, auto: r.auto }, now);
  const next = {
    action: verdict.action,
    reason: verdict.reason,
    percent: verdict.action === 'step' ? verdict.percent : null,
  };
  const window = { since: r.phaseStartedAt, until: now };
  const figures = { stable: side(r.stable, stable), canary: side(r.canary, canary), next, window };
  if (r.auto.paused) {
    return {
      ...none,
      ...figures,
      state: 'paused',
      summary: `Paused: the controller does nothing until resumed. On the data so far it would ${verdict.action}: ${verdict.reason}.`,
    };
  }
  const due = dueAt({ ...r, auto: r.auto });
  return {
    ...none,
    ...figures,
    state: now >= due ? 'due' : 'waiting',
    dueAt: due,
    summary:
      `${now >= due ? 'At its next tick' : `In ${wait(due - now)}`} the controller will ${verdict.action}` +
      `${verdict.action === 'step' ? ` to ${verdict.percent} %` : ''} unless the data changes: ${verdict.reason}.`,
  };
}
