/**
 * The ModelUpdater keeps the slot serving the version the collector assigns: first load (from the network, or
 * from the cache when offline), manifest polling, and hot swaps. A version that fails to download, verify,
 * load or pass its probe never replaces the serving model; it is reported and retried only later.
 */
import type { Manifest } from '@edgeloop/protocol';
import type { EngineContext, EngineName } from '../engines/types.js';
import type { EngineChoice, SwapEvent } from '../types.js';
import { listEngines } from '../engines/registry.js';
import { RuntimeError, describeError } from '../errors.js';
import type { Database } from '../outbox/db.js';
import type { ArtifactStore } from './artifacts.js';
import type { ManifestClient } from './manifest.js';
import type { ModelSlot } from './slot.js';

export interface UpdaterOptions {
  model: string;
  engine: 'auto' | EngineName | EngineName[];
  runs: number;
  ctx: EngineContext;
  /** Fixed poll interval (ms); `undefined` follows the manifest's `pollAfterSec`; `0` never polls. */
  pollIntervalMs: number | undefined;
}

export interface UpdaterHooks {
  swap(event: SwapEvent): void;
  error(code: string, message: string, version: string | null): void;
}

const CHOICE_TTL_MS = 7 * 24 * 3600_000;

/** Identity of a version's bytes: a republished name with other artifacts counts as new. */
function identity(m: Manifest): string {
  return `${m.version}:${m.artifacts
    .map((a) => a.sha256)
    .sort()
    .join(',')}`;
}

export class ModelUpdater {
  choice: EngineChoice | null = null;
  source: 'network' | 'cache' | null = null;
  swaps = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<boolean> | null = null;
  readonly #failed = new Map<string, number>();
  #stopped = false;

  readonly #opts: UpdaterOptions;
  readonly #manifests: ManifestClient;
  readonly #artifacts: ArtifactStore;
  readonly #slot: ModelSlot;
  readonly #db: Database;
  readonly #hooks: UpdaterHooks;

  constructor(
    opts: UpdaterOptions,
    manifests: ManifestClient,
    artifacts: ArtifactStore,
    slot: ModelSlot,
    db: Database,
    hooks: UpdaterHooks,
  ) {
    this.#opts = opts;
    this.#manifests = manifests;
    this.#artifacts = artifacts;
    this.#slot = slot;
    this.#db = db;
    this.#hooks = hooks;
  }

  /**
   * Loads the first model: the assigned version, else the last good one from the cache. Rejects with the real
   * cause: the assigned version's own error (`EL_RT_PROBE_FAILED`, `EL_RT_BAD_INPUT`, …) when it was fetched but
   * cannot serve, `EL_RT_NO_MODEL` only when no manifest could be fetched and nothing is cached.
   */
  async start(): Promise<void> {
    // The loader (engine choice, download, probe) is a chunk of its own, fetched while the manifest is.
    void import('./loader.js').catch(() => 0);
    let fresh: Manifest | undefined;
    let why = '';
    let failed: RuntimeError | undefined;
    try {
      const answer = await this.#manifests.fetch();
      if (answer.kind === 'changed') fresh = answer.manifest;
    } catch (err) {
      why = (err as Error).message;
    }
    if (fresh) {
      try {
        await this.#install(fresh, performance.now(), 'network');
        this.#schedule();
        return;
      } catch (err) {
        const { code, message } = describeError(err, 'EL_RT_ENGINE_LOAD');
        this.#hooks.error(code, message, fresh.version);
        this.#failed.set(identity(fresh), Date.now() + this.#retryDelay(fresh));
        failed = RuntimeError.from(code, message);
      }
    }
    const last = await this.#manifests.lastGood();
    if (!last) throw failed ?? new RuntimeError('EL_RT_NO_MODEL', why || 'no manifest');
    try {
      await this.#install(last, performance.now(), 'cache');
    } catch (err) {
      const cached = `cached version ${last.version}: ${(err as Error).message}`;
      throw failed
        ? RuntimeError.from(failed.code, `${failed.message}; ${cached}`)
        : new RuntimeError('EL_RT_NO_MODEL', `${why}; ${cached}`);
    }
    this.#manifests.reset();
    this.#schedule();
  }

  /** Polls now; resolves `true` if a new version is serving. Never throws (failures are reported). */
  update(): Promise<boolean> {
    if (this.#running) return this.#running;
    this.#running = this.#poll().finally(() => {
      this.#running = null;
      this.#schedule();
    });
    return this.#running;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #poll(): Promise<boolean> {
    let answer;
    try {
      answer = await this.#manifests.fetch();
    } catch {
      return false; // offline or collector down: keep serving, try at the next poll
    }
    if (answer.kind === 'unchanged' || this.#stopped) return false;
    const seen = performance.now();
    const next = answer.manifest;
    const current = this.#slot.model;
    if (current && identity(current.manifest) === identity(next)) {
      // Same bytes: only the channel or policy may have changed (a promotion needs no reload).
      current.manifest = next;
      void this.#manifests.remember(next);
      return false;
    }
    const retryAt = this.#failed.get(identity(next));
    if (retryAt !== undefined && retryAt > Date.now()) return false;
    try {
      await this.#install(next, seen, 'network');
      this.#failed.delete(identity(next));
      return true;
    } catch (err) {
      const { code, message } = describeError(err, 'EL_RT_ENGINE_LOAD');
      this.#failed.set(identity(next), Date.now() + this.#retryDelay(next));
      // Forget the ETag so the version is looked at again once its retry delay is over.
      this.#manifests.reset();
      this.#hooks.error(code, message, next.version);
      return false;
    }
  }

  async #install(manifest: Manifest, seenAt: number, source: 'network' | 'cache'): Promise<void> {
    const requested = this.#opts.engine;
    const all = listEngines().map((e) => e.name);
    const named = requested === 'auto' ? all : Array.isArray(requested) ? requested : [requested];
    const current = this.#slot.model;
    let engines: EngineName[] = named;
    let measure = requested === 'auto' && !current;
    if (current) {
      // A swap keeps the engine already chosen (measured once), falling back to the others in order.
      engines = [current.engine, ...named.filter((n) => n !== current.engine)];
    } else if (measure) {
      const cached = await this.#db
        .getMeta<{ name: EngineName; at: number; reason: string }>(`engine:${this.#opts.model}`)
        .catch(() => undefined);
      if (cached && Date.now() - cached.at < CHOICE_TTL_MS && all.includes(cached.name)) {
        engines = [cached.name, ...all.filter((n) => n !== cached.name)];
        measure = false;
      }
    }
    const { model, choice } = await (
      await import('./loader.js')
    ).loadModel({
      manifest,
      engines,
      measure,
      runs: this.#opts.runs,
      ctx: this.#opts.ctx,
      artifacts: this.#artifacts,
      offline: source === 'cache',
    });
    if (this.#stopped) {
      await model.session.release();
      throw new RuntimeError('EL_RT_DISPOSED');
    }
    if (measure)
      void this.#db
        .setMeta(`engine:${this.#opts.model}`, { name: choice.name, at: Date.now(), reason: choice.reason })
        .catch(() => undefined);
    else if (!current && requested === 'auto')
      choice.reason = `auto: chosen earlier on this device by measurement (${choice.name}); measured again after 7 days`;
    if (current && choice.name === current.engine && this.choice) choice.reason = this.choice.reason;
    const previous = this.#slot.swap(model);
    this.choice = choice;
    this.source = source;
    if (previous) {
      this.swaps++;
      this.#hooks.swap({
        from: previous.manifest.version,
        to: manifest.version,
        channel: manifest.channel,
        engine: model.engine,
        tookMs: performance.now() - seenAt,
      });
    }
    // Stored before createRuntime (or update) resolves, after the swap: a tab closed right after its first start
    // still finds this model for an offline start.
    if (source === 'network') await this.#manifests.remember(manifest);
  }

  #interval(): number | null {
    if (this.#opts.pollIntervalMs === 0) return null;
    if (this.#opts.pollIntervalMs !== undefined) return this.#opts.pollIntervalMs;
    return (this.#slot.model?.manifest.pollAfterSec ?? 60) * 1000;
  }

  #retryDelay(m: Manifest): number {
    const poll = this.#opts.pollIntervalMs || m.pollAfterSec * 1000;
    return Math.max(10 * poll, 60_000);
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    const every = this.#interval();
    if (this.#stopped || every === null) return;
    this.#timer = setTimeout(() => void this.update(), every);
  }
}
