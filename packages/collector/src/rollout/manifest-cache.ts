/**
 * Manifests are every device's hot path, so they are compiled ahead: per model, the stable and the canary
 * manifest as ready-to-send bytes with their ETag, plus the canary percent to bucket devices with. A model's
 * entry is dropped when this process changes its rollout, and re-read after `ttlMs` (changes made by other
 * collectors); a stale entry keeps being served while one refresh runs, so no request waits on the database
 * except the first for a model. Versions are immutable and cached for good.
 */
import { createHash } from 'node:crypto';
import { inCanary, type Channel, type Manifest, type Policy, type Version } from '@edgeloop/protocol';
import type { RolloutState } from './types.js';

/** Used when a version's metadata names no policy. */
export const DEFAULT_POLICY: Policy = { lowConfidence: 0.6, sampleRate: 0.01 };

export interface ManifestSource {
  rollout(model: string): Promise<RolloutState | undefined>;
  version(model: string, version: string): Promise<Version | undefined>;
}

/** A manifest ready to send. */
export interface ServedManifest {
  version: string;
  channel: Channel;
  body: Buffer;
  etag: string;
}

interface Compiled {
  revision: number;
  stable: ServedManifest | null;
  canary: ServedManifest | null;
  canaryPercent: number;
}

interface Slot {
  /** `null`: the model has nothing to serve. */
  compiled: Compiled | null;
  freshUntil: number;
}

export interface ManifestCacheOptions {
  /** Milliseconds an entry is trusted before the rollout is read again. */
  ttlMs: number;
  pollAfterSec: number;
  /** Models kept at most (unknown names from devices are cached too). */
  maxModels?: number;
}

export class ManifestCache {
  private readonly slots = new Map<string, Slot>();
  private readonly generations = new Map<string, number>();
  private readonly inflight = new Map<string, { generation: number; run: Promise<Compiled | null> }>();
  private readonly versions = new Map<string, Version>();

  constructor(
    private readonly source: ManifestSource,
    private readonly options: ManifestCacheOptions,
  ) {}

  /** The manifest this device must run, or `undefined` when the model has no version to serve. */
  async assign(model: string, deviceId: string): Promise<ServedManifest | undefined> {
    const slot = this.slots.get(model);
    let compiled: Compiled | null;
    if (slot) {
      if (slot.freshUntil <= Date.now() && !this.inflight.has(model)) this.refresh(model).catch(() => {});
      compiled = slot.compiled;
    } else {
      compiled = await this.refresh(model);
    }
    if (!compiled) return undefined;
    if (compiled.canary && inCanary(model, deviceId, compiled.canaryPercent)) return compiled.canary;
    return compiled.stable ?? undefined;
  }

  /** Forgets a model's entry: the next request reads the rollout again. */
  invalidate(model: string): void {
    this.generations.set(model, (this.generations.get(model) ?? 0) + 1);
    this.slots.delete(model);
  }

  private refresh(model: string): Promise<Compiled | null> {
    const generation = this.generations.get(model) ?? 0;
    const pending = this.inflight.get(model);
    // One read per model at a time, unless it started before an invalidation (then it may predate the change).
    if (pending && pending.generation === generation) return pending.run;
    const run = this.compile(model)
      .then(
        (compiled) => {
          if ((this.generations.get(model) ?? 0) === generation) {
            if (this.slots.size >= (this.options.maxModels ?? 10_000) && !this.slots.has(model)) this.slots.clear();
            this.slots.set(model, { compiled, freshUntil: Date.now() + this.options.ttlMs });
          }
          return compiled;
        },
        (err: unknown) => {
          // Storage trouble: keep serving what we had (devices stay where they are) and try again after a TTL.
          const slot = this.slots.get(model);
          if (slot) slot.freshUntil = Date.now() + this.options.ttlMs;
          throw err;
        },
      )
      .finally(() => {
        if (this.inflight.get(model)?.run === run) this.inflight.delete(model);
      });
    this.inflight.set(model, { generation, run });
    return run;
  }

  private async compile(model: string): Promise<Compiled | null> {
    const previous = this.slots.get(model)?.compiled;
    const rollout = await this.source.rollout(model);
    if (!rollout || rollout.stable === null) return null;
    if (previous && previous.revision === rollout.revision) return previous;
    const stable = await this.manifest(model, rollout.stable, 'stable');
    const canary = rollout.canary === null ? null : await this.manifest(model, rollout.canary, 'canary');
    if (!stable) return null;
    return { revision: rollout.revision, stable, canary, canaryPercent: rollout.canaryPercent };
  }

  private async manifest(model: string, version: string, channel: Channel): Promise<ServedManifest | null> {
    const key = `${model}\n${version}`;
    let v = this.versions.get(key);
    if (!v) {
      v = await this.source.version(model, version);
      if (!v) return null;
      if (this.versions.size >= 1000) this.versions.clear();
      this.versions.set(key, v);
    }
    const manifest: Manifest = {
      model,
      version,
      channel,
      artifacts: v.artifacts,
      labels: v.meta.labels,
      input: v.meta.input,
      ...(v.meta.output ? { output: v.meta.output } : {}),
      policy: v.meta.policy ?? DEFAULT_POLICY,
      pollAfterSec: this.options.pollAfterSec,
    };
    const body = Buffer.from(JSON.stringify(manifest));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    return { version, channel, body, etag };
  }
}
