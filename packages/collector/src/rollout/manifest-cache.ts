/**
 * Manifests are every device's hot path, so they are compiled ahead: per model, the stable and the canary
 * manifest as ready-to-send bytes with their ETag, plus the canary percent to bucket devices with (a device that
 * joined the canary gets the canary's bytes: no entry per device). A model's
 * entry is dropped when this process changes its rollout, and re-read after `ttlMs` (changes made by other
 * collectors); a stale entry keeps being served while one refresh runs, so no request waits on the database
 * except the first for a model. Versions are immutable and kept until the least recently used make room.
 * lru-cache does the expiry, the merging of concurrent reads and the bound on size.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
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

/** A model's entry (`compiled: null`: the model has nothing to serve; the cache holds no bare null). */
interface Slot {
  compiled: Compiled | null;
}

export interface ManifestCacheOptions {
  /** Milliseconds an entry is trusted before the rollout is read again (0: every request starts a refresh). */
  ttlMs: number;
  pollAfterSec: number;
  /** Models kept at most (unknown names from devices are cached too); the least recently asked go first. */
  maxModels?: number;
}

export class ManifestCache {
  private readonly slots: LRUCache<string, Slot>;
  private readonly versions = new LRUCache<string, Version>({ max: 1000 });
  /** The reasons of reads cut short by an invalidation: their callers read again. */
  private readonly invalidations = new WeakSet<object>();

  constructor(
    private readonly source: ManifestSource,
    private readonly options: ManifestCacheOptions,
  ) {
    this.slots = new LRUCache<string, Slot>({
      max: options.maxModels ?? 10_000,
      ttl: options.ttlMs > 0 ? options.ttlMs : undefined,
      // Stale entries are served while one refresh per model runs (lru-cache merges concurrent fetches).
      allowStale: true,
      noDeleteOnStaleGet: true,
      fetchMethod: async (model, stale, { signal }) => {
        signal.addEventListener('abort', () => this.invalidations.add(signal.reason as object), { once: true });
        try {
          return { compiled: await this.compile(model, stale?.compiled ?? undefined) };
        } catch (err) {
          // Storage trouble: keep serving what we had (devices stay where they are) and try again after a TTL.
          if (stale) return stale;
          throw err;
        }
      },
    });
  }

  /**
   * The manifest this device must run, or `undefined` when the model has no version to serve. A device that
   * joined the canary (`optIn`) gets the live canary whatever its bucket; with no canary it gets stable.
   */
  async assign(model: string, deviceId: string, optIn = false): Promise<ServedManifest | undefined> {
    // The hot path reads memory only: a fresh entry as it is, a stale one while a refresh runs in the background.
    let slot = this.slots.get(model);
    if (slot && (this.options.ttlMs <= 0 || this.slots.getRemainingTTL(model) <= 0)) this.slot(model).catch(() => {});
    slot ??= await this.slot(model);
    const compiled = slot.compiled;
    if (!compiled) return undefined;
    if (compiled.canary && (optIn || inCanary(model, deviceId, compiled.canaryPercent))) return compiled.canary;
    return compiled.stable ?? undefined;
  }

  /**
   * `assign` for the fast path, synchronously: the manifest when the model's entry is cached and fresh, else
   * undefined (the route then reads or refreshes it).
   */
  fresh(model: string, deviceId: string, optIn: boolean): ServedManifest | undefined {
    if (this.options.ttlMs <= 0 || !(this.slots.getRemainingTTL(model) > 0)) return undefined;
    const compiled = this.slots.get(model)?.compiled;
    if (!compiled) return undefined;
    if (compiled.canary && (optIn || inCanary(model, deviceId, compiled.canaryPercent))) return compiled.canary;
    return compiled.stable ?? undefined;
  }

  /** Forgets a model's entry: the next request reads the rollout again (a read already running is dropped). */
  invalidate(model: string): void {
    this.slots.delete(model);
  }

  private async slot(model: string): Promise<Slot> {
    for (;;) {
      try {
        const slot = await this.slots.fetch(model, { forceRefresh: this.options.ttlMs <= 0 });
        if (slot) return slot;
      } catch (err) {
        // A read that began before an invalidation may predate the change: read again.
        if (!(typeof err === 'object' && err !== null && this.invalidations.has(err))) throw err;
      }
    }
  }

  private async compile(model: string, previous: Compiled | undefined): Promise<Compiled | null> {
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
