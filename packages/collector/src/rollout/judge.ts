/**
 * One judgement of a live automatic canary over its current window (since the phase began): both sides'
 * figures and the verdict. The controller writes it; the decision route shows it without writing.
 */
import type { AutoPolicy } from '@edgeloop/protocol';
import type { Storage } from '../storage/index.js';
import type { RolloutState } from './types.js';
import { analyseCanary, type CanaryVerdict } from './canary-analysis.js';
import { measureVersions, type VersionFigures } from './version-metrics.js';

export interface Judgement {
  stable: VersionFigures;
  canary: VersionFigures;
  verdict: CanaryVerdict;
}

/** Measures stable and canary from `r.phaseStartedAt` to `now` and asks `analyseCanary` what to do. */
export async function judge(
  storage: Storage,
  r: RolloutState & { canary: string; stable: string; auto: AutoPolicy },
  now: number,
): Promise<Judgement> {
  const figures = await measureVersions(storage.metrics, r.model, [r.stable, r.canary], r.phaseStartedAt, now);
  const stable = figures.get(r.stable)!;
  const canary = figures.get(r.canary)!;
  return { stable, canary, verdict: analyseCanary(r, stable, canary) };
}

/** When the controller judges `r` next: an interval after the phase began or after its last decision. */
export function dueAt(r: RolloutState & { auto: AutoPolicy }): number {
  return Math.max(r.phaseStartedAt, r.decidedAt ?? 0) + r.auto.intervalSec * 1000;
}
