/**
 * Publication: a version's artifacts + meta to the collector, then the rollout (stable for a first version, a
 * canary with the automatic policy for a retrained one).
 */
import { createRequire } from 'node:module';
import type { AutoPolicy, Rollout, Version, VersionMeta } from '@edgeloop/protocol';
import type { CollectorClient } from '../collector/client.js';
import type { ArtifactFile } from '../export/artifacts.js';

/** The automatic canary policy set with each new canary unless told otherwise. */
export const DEFAULT_AUTO_POLICY: AutoPolicy = {
  stepPercent: 10,
  maxPercent: 50,
  intervalSec: 300,
  minSamples: 200,
  maxCorrectionRateDelta: 0.02,
};
export const DEFAULT_CANARY_PERCENT = 10;

export interface CanaryOptions {
  percent: number;
  auto: AutoPolicy | null;
}

/** The code version stored with every version: this package's version, plus EDGELOOP_CODE_VERSION when set. */
export function codeVersion(): string {
  const pkg = createRequire(import.meta.url)('../../package.json') as { name: string; version: string };
  const extra = process.env.EDGELOOP_CODE_VERSION;
  return `${pkg.name}@${pkg.version}${extra ? `+${extra}` : ''}`.slice(0, 128);
}

/**
 * The meta of a version made from `stable`: its parent, the batches it learned, what it keeps of stable (labels,
 * input spec, keep policy) and this code's version; `own` is what is new (an absent output: stable's defaults).
 */
export function childMeta(
  stable: Version,
  batches: string[],
  own: Pick<VersionMeta, 'metrics' | 'gate' | 'trainer' | 'output'>,
): VersionMeta {
  return {
    parent: stable.version,
    batches,
    metrics: own.metrics,
    labels: stable.meta.labels,
    input: stable.meta.input,
    ...(own.output ? { output: own.output } : {}),
    ...(stable.meta.policy ? { policy: stable.meta.policy } : {}),
    ...(own.gate ? { gate: own.gate } : {}),
    trainer: own.trainer,
    codeVersion: codeVersion(),
  };
}

/** Uploads a version and returns its name (the collector numbers it v1, v2… unless meta.version names it). */
export async function publishVersion(
  client: CollectorClient,
  model: string,
  meta: VersionMeta,
  files: ArtifactFile[],
): Promise<string> {
  return client.publish(model, meta, files);
}

/** Makes `version` the stable version with no canary. */
export async function makeStable(
  client: CollectorClient,
  model: string,
  version: string,
  reason: string,
): Promise<Rollout> {
  const current = await client.rollout(model);
  return client.setRollout(model, {
    stable: version,
    canary: null,
    canaryPercent: 0,
    auto: current?.auto ?? null,
    reason,
  });
}

/** What a cycle says of the canary it started. */
export function canaryStep(rollout: Rollout): string {
  return `canary ${rollout.canary} at ${rollout.canaryPercent} %${rollout.auto ? ' with the automatic rollout policy' : ''}`;
}

/**
 * Starts `version` as the canary beside the current stable: `canary` (default DEFAULT_CANARY_PERCENT with
 * DEFAULT_AUTO_POLICY); `false` starts none and resolves to null.
 */
export async function startCanary(
  client: CollectorClient,
  model: string,
  stable: string,
  version: string,
  canary: CanaryOptions | false | undefined,
  reason: string,
): Promise<Rollout | null> {
  const c = canary === undefined ? { percent: DEFAULT_CANARY_PERCENT, auto: DEFAULT_AUTO_POLICY } : canary;
  if (!c) return null;
  return client.setRollout(model, { stable, canary: version, canaryPercent: c.percent, auto: c.auto, reason });
}
