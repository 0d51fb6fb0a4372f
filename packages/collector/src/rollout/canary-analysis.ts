/**
 * The automatic canary's judgement (Flagger-style), a pure function of the rollout and both sides' figures over
 * the current analysis window. Canary and stable are compared on correction rate, error rate and low-confidence
 * rate; a rate more than `maxCorrectionRateDelta` above stable's is "worse". Worse → roll back; otherwise step
 * the percent up by `stepPercent` until `maxPercent`, and promote once there; too few samples → hold, and say so.
 */
import type { AutoPolicy, Rollout } from '@edgeloop/protocol';
import type { VersionFigures } from './version-metrics.js';

export type CanaryVerdict =
  | { action: 'step'; percent: number; reason: string }
  | { action: 'promote'; reason: string }
  | { action: 'rollback'; reason: string }
  | { action: 'hold'; reason: string };

const COMPARED = [
  ['correctionRate', 'correction rate'],
  ['errorRate', 'error rate'],
  ['lowConfidenceRate', 'low-confidence rate'],
] as const;

const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(2)}%`);

/** Decides what to do with a live canary; `rollout.canary` and `rollout.auto` must be set. */
export function analyseCanary(
  rollout: Rollout & { auto: AutoPolicy },
  stable: VersionFigures,
  canary: VersionFigures,
): CanaryVerdict {
  const { minSamples, maxCorrectionRateDelta: threshold, stepPercent, maxPercent } = rollout.auto;
  const worse = (s: VersionFigures, c: VersionFigures) =>
    COMPARED.filter(([key]) => (c[key] ?? 0) - (s[key] ?? 0) > threshold).map(
      ([key, name]) => `${name} ${pct(c[key])} vs stable ${pct(s[key])} (allowed +${pct(threshold)})`,
    );

  // A canary that cannot even load makes no predictions; its errors alone are enough evidence against it.
  if (canary.errors >= minSamples) {
    const errorsOnly = worse(stable, canary).filter((w) => w.startsWith('error rate'));
    if (errorsOnly.length > 0) return { action: 'rollback', reason: `canary is worse: ${errorsOnly.join('; ')}` };
  }
  if (canary.predictions < minSamples || stable.predictions < minSamples) {
    return {
      action: 'hold',
      reason: `too few samples to judge: canary ${canary.predictions}/${minSamples}, stable ${stable.predictions}/${minSamples} predictions`,
    };
  }
  const bad = worse(stable, canary);
  if (bad.length > 0) return { action: 'rollback', reason: `canary is worse: ${bad.join('; ')}` };
  const summary =
    `canary no worse than stable (correction ${pct(canary.correctionRate)} vs ${pct(stable.correctionRate)}, ` +
    `error ${pct(canary.errorRate)} vs ${pct(stable.errorRate)}, low-confidence ${pct(canary.lowConfidenceRate)} vs ${pct(stable.lowConfidenceRate)}; ` +
    `${canary.predictions} and ${stable.predictions} predictions)`;
  if (rollout.canaryPercent >= maxPercent)
    return { action: 'promote', reason: `${summary} at maxPercent ${maxPercent}` };
  // Two decimals: the bucketing's resolution (10,000 buckets).
  const percent = Math.round(Math.min(maxPercent, rollout.canaryPercent + stepPercent) * 100) / 100;
  return { action: 'step', percent, reason: `${summary}: ${rollout.canaryPercent}% → ${percent}%` };
}
