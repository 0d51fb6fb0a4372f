/**
 * The runtime itself, wherever it runs (the page, or a dedicated worker): predictions, confidence scoring,
 * what is kept, corrections, per-version stats, the outbox and the model updater. Logging happens after a
 * prediction resolves, never on its path.
 */
import {
  MODEL_NAME_RE,
  newId,
  sha256Hex,
  type CorrectionEvent,
  type ErrorEvent,
  type Event,
  type Manifest,
  type PredictionEvent,
} from '@edgeloop/protocol';
import type {
  ModelInput,
  OutboxStatus,
  Prediction,
  ReportOptions,
  RuntimeEvents,
  RuntimeOptions,
  RuntimeStatus,
} from './types.js';
import { Emitter } from './emitter.js';
import { statsToken } from './id.js';
import { RuntimeError } from './errors.js';
import { scoreTop3 } from './confidence.js';
import { isLowConfidence, keepReason, type KeepReason } from './policy.js';
import { base64, bytesOf, checkSize } from './input.js';
import { RecentPredictions, type Recent } from './recent.js';
import { StatsWindow, statsEvent, type WindowTag } from './stats.js';
import { Database } from './outbox/db.js';
import { Outbox, OUTBOX_DEFAULTS, serialise, type OutboxObserver } from './outbox/outbox.js';
import { ArtifactStore } from './model/artifacts.js';
import { ManifestClient } from './model/manifest.js';
import { ModelSlot, type Lease } from './model/slot.js';
import { ModelUpdater } from './model/updater.js';
import { isEngine } from './engines/registry.js';

const MAX_PENDING_CAPTURE = 1000;

/**
 * Checks options at creation rather than at the first request. `engines: false` leaves engine names to the thread
 * that imports `engineModules` first (the worker); `inWorker` says, for an unknown name, why the page's engines
 * are not there.
 */
export function checkOptions(o: RuntimeOptions, check: { engines?: boolean; inWorker?: boolean } = {}): void {
  const bad = (why: string) => new RuntimeError('EL_RT_INVALID_OPTIONS', why);
  if (!o || typeof o !== 'object') throw bad('pass an options object');
  if (typeof o.collector !== 'string' || !/^https?:\/\//.test(o.collector))
    throw bad('collector must be an http(s) URL');
  if (typeof o.key !== 'string' || o.key.length === 0) throw bad('key must be the ingest key');
  if (typeof o.model !== 'string' || !MODEL_NAME_RE.test(o.model)) throw bad(`model must match ${MODEL_NAME_RE}`);
  const engines = o.engine === undefined || o.engine === 'auto' ? [] : Array.isArray(o.engine) ? o.engine : [o.engine];
  if (Array.isArray(o.engine) && o.engine.length === 0) throw bad('engine list is empty');
  if (check.engines === false) return;
  for (const e of engines)
    if (!isEngine(e)) throw bad(`unknown engine "${e}"${check.inWorker ? ' in the worker (see engineModules)' : ''}`);
}

/** What the core tells its host: the outbox's copies for the unload send, and when a stats window closed. */
export interface CoreObserver extends OutboxObserver {
  /** Window `seq` was closed (its events made). */
  statsClosed?(seq: number): void;
}

export class RuntimeCore {
  readonly events = new Emitter<RuntimeEvents>();
  readonly collector: string;
  readonly #db = new Database();
  readonly #slot = new ModelSlot();
  readonly #stats = new StatsWindow();
  /** Makes this runtime's stats event ids (`statsId`): random, so no other runtime makes the same. */
  readonly statsToken = statsToken();
  readonly #recent: RecentPredictions;
  #pendingCapture: Recent[] = [];
  #hashNow?: (bytes: Uint8Array) => string;
  #captureTimer: ReturnType<typeof setTimeout> | undefined;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  #predictions = 0;
  #captureDropped = 0;
  /** Since `pagehide`: a prediction resolving now is captured at once, as no later task may run. */
  #leaving = false;
  #disposed = false;
  #outboxStatus: OutboxStatus;
  outbox!: Outbox;
  #updater!: ModelUpdater;
  #manifests!: ManifestClient;
  deviceId = '';

  readonly #observer: CoreObserver;
  readonly #inWorker;

  constructor(
    readonly options: RuntimeOptions,
    observer: CoreObserver = {},
    inWorker = false,
  ) {
    this.#observer = observer;
    this.#inWorker = inWorker;
    checkOptions(options, { inWorker });
    this.#recent = new RecentPredictions(options.recentPredictions ?? 100);
    this.collector = options.collector.replace(/\/+$/, '');
    this.#outboxStatus = {
      pending: 0,
      pendingBytes: 0,
      dropped: 0,
      sent: 0,
      failures: 0,
      retryAt: null,
      lastError: null,
    };
  }

  /** Opens storage, loads the first model and starts polling, stats windows and the start-up flush. */
  async start(): Promise<void> {
    const o = this.options;
    // pagehide cannot wait for WebCrypto: a synchronous SHA-256, loaded here off the initial bundle, hashes what
    // is still waiting to be captured then (see unloading). Without it, those captures go with the page.
    this.#hashNow = (await import('./hash-now.js').catch(() => undefined))?.sha256HexNow;
    this.deviceId = o.deviceId ?? (await this.#storedDeviceId());
    const dest = { url: this.collector, key: o.key };
    this.outbox = new Outbox(this.#db, dest, o.outbox, {
      queued: (items) => this.#observer.queued?.(items),
      settled: (ids) => this.#observer.settled?.(ids),
      status: (s) => {
        this.#outboxStatus = s;
        this.#observer.status?.(s);
      },
    });
    // The service worker flushes by Background Sync after the tab is gone: it needs to know where to send.
    void this.#db.setMeta(`dest:${dest.url}`, dest).catch(() => undefined);
    const manifests = (this.#manifests = new ManifestClient(this.collector, o.key, o.model, this.deviceId, this.#db));
    manifests.optIn = (await this.#db.getMeta(this.#joinKey()).catch(() => 0)) === true;
    this.#updater = new ModelUpdater(
      {
        model: o.model,
        engine: o.engine ?? 'auto',
        runs: o.autoRuns ?? 5,
        ctx: { wasmPaths: o.wasmPaths },
        pollIntervalMs: o.pollIntervalMs,
      },
      manifests,
      new ArtifactStore(this.collector, o.key),
      this.#slot,
      this.#db,
      {
        swap: (e) => this.events.emit('swap', e),
        error: (code, message, version) => this.#reportError(code, message, version),
      },
    );
    void this.outbox.flush();
    await this.#updater.start();
    const windowMs = o.statsWindowMs ?? 60_000;
    this.#statsTimer = setInterval(() => void this.closeStats(), windowMs);
  }

  /**
   * Runs the serving model on one input. Not an async function: a prediction costs one reaction on the engine's
   * promise and nothing more; everything after the output is synchronous and allocates only the result (the
   * input goes into a preallocated ring, kept or not; hashing and storing run in a later task).
   */
  predict(input: ModelInput): Promise<Prediction> {
    if (this.#disposed) return Promise.reject(new RuntimeError('EL_RT_DISPOSED'));
    const lease = this.#slot.acquire();
    if (!lease) return Promise.reject(new RuntimeError('EL_RT_NO_MODEL', 'no model is loaded'));
    const t0 = performance.now();
    const { manifest, session, io } = lease.model;
    try {
      checkSize(input, manifest.input);
      // The app's own float32 buffer goes to the engine as is (engines copy it in); nothing is allocated here.
      // Otherwise the model's input is made in a buffer that is given back once the run has settled.
      const x = input instanceof Float32Array && io.identity ? input : io.toModel(input);
      return session.run(x, io.modelShape).then(
        (out) => {
          if (x !== input) io.reuse(x);
          return this.#settle(lease, manifest, input, out, t0);
        },
        (err: unknown) => {
          if (x !== input) io.reuse(x);
          throw this.#failed(lease, manifest, err);
        },
      );
    } catch (err) {
      return Promise.reject(this.#failed(lease, manifest, err));
    }
  }

  #settle(lease: Lease, manifest: Manifest, input: ModelInput, out: Float32Array, t0: number): Prediction {
    this.#slot.release(lease);
    const probs = lease.model.io.probabilities(out);
    const multi = lease.model.io.scoreMulti?.(probs, manifest.labels);
    const s = multi ?? scoreTop3(probs, manifest.labels);
    const latencyMs = performance.now() - t0;
    const ts = Date.now();
    const id = newId(ts);
    const version = manifest.version;
    const engine = lease.model.engine;
    const result: Prediction = {
      id,
      label: s.label,
      confidence: s.confidence,
      margin: s.margin,
      entropy: s.entropy,
      topK: s.topK,
      version,
      channel: manifest.channel,
      engine,
      latencyMs,
      ...(multi ? { labels: multi.labels } : {}),
    };
    this.#predictions++;
    const reason = keepReason(result.confidence, manifest.policy);
    this.#stats.prediction(version, latencyMs, result.confidence, result.label, reason === 'low_confidence');
    // The input is copied into the ring, kept or not: a kept one is read from there by the capture task.
    const rec: Recent = { id, result, version, shape: manifest.input.shape, ts, keep: null, spilled: null, slot: -1 };
    this.#recent.add(rec, input, manifest.input);
    if (reason) this.#capture(rec, reason);
    return result;
  }

  /** Gives the lease back and makes the error the prediction rejects with (an engine failure is reported). */
  #failed(lease: Lease, manifest: Manifest, err: unknown): RuntimeError {
    this.#slot.release(lease);
    if (err instanceof RuntimeError) return err;
    const e = new RuntimeError('EL_RT_ENGINE_RUN', lease.model.engine, (err as Error)?.message ?? String(err));
    this.#reportError(e.code, e.message, manifest.version);
    return e;
  }

  /**
   * Stores a correction (and the reported prediction with its input) before resolving; resolves to the version
   * and the stats window it was counted in.
   */
  async reportWrongResult(
    id: string,
    label: string | readonly string[],
    options: ReportOptions = {},
  ): Promise<{ version: string; window: WindowTag }> {
    if (this.#disposed) throw new RuntimeError('EL_RT_DISPOSED');
    const manifest = this.#slot.model?.manifest;
    const labels = this.labels();
    // A multi-label (sigmoid) model is corrected with the set of labels that apply, a single-label one with a label.
    const set = typeof label === 'string' ? null : [...new Set(label)];
    if (manifest && (manifest.output?.kind === 'sigmoid') !== (set !== null)) {
      throw set
        ? new RuntimeError('EL_RT_LABEL_KIND', manifest.model, 'single-label', 'one label (a string)')
        : new RuntimeError('EL_RT_LABEL_KIND', manifest.model, 'multi-label', 'the labels that apply (a string[])');
    }
    const unknown = (set ?? [label as string]).find((l) => labels.length > 0 && !labels.includes(l));
    if (unknown !== undefined) throw new RuntimeError('EL_RT_UNKNOWN_LABEL', unknown, labels.join(', '));
    const rec = this.#recent.get(id);
    // Counted against the prediction's version, else the serving one.
    const version = rec?.version ?? this.#slot.model?.manifest.version ?? 'unknown';
    const events: Event[] = [];
    // Sent again with reason "reported" even if it was kept before: the outbox upgrades a queued copy so it is
    // never dropped first, and the collector dedupes a copy it already has.
    if (rec) events.push(await this.#predictionEvent(rec, 'reported'));
    const correction: CorrectionEvent = {
      id: newId(),
      type: 'correction',
      model: this.options.model,
      version,
      deviceId: this.deviceId,
      ts: Date.now(),
      predictionId: id,
      ...(set ? { labels: set } : { label: label as string }),
      ...(options.comment !== undefined ? { comment: options.comment } : {}),
    };
    events.push(correction);
    this.#stats.correction(version);
    const window = this.#stats.tag;
    await this.outbox.add(events);
    return { version, window };
  }

  /** Whether the serving policy counts this prediction as low-confidence (as its stats did). */
  isLow(p: Prediction): boolean {
    const m = this.#slot.model;
    return m !== null && isLowConfidence(p.confidence, m.manifest.policy);
  }

  flush(): Promise<OutboxStatus> {
    return this.#drainCapture().then(() => this.outbox.flush());
  }

  /** The browser is online again: the outbox's backoff ends and what waits is sent now. */
  online(): Promise<OutboxStatus> {
    return this.#drainCapture().then(() => this.outbox.online());
  }

  update(): Promise<boolean> {
    return this.#updater.update();
  }

  /** Asks for the canary (or stops), remembered for this device and model; polls now. */
  async joinCanary(join: boolean): Promise<boolean> {
    if (this.#disposed) throw new RuntimeError('EL_RT_DISPOSED');
    this.#manifests.optIn = join;
    await this.#db.setMeta(this.#joinKey(), join).catch(() => 0);
    // A poll already running asked with the old answer: the second one asks with the new.
    return (await this.update()) || this.update();
  }

  #joinKey(): string {
    return `canary:${this.options.model}:${this.deviceId}`;
  }

  labels(): string[] {
    return [...(this.#slot.model?.manifest.labels ?? [])];
  }

  status(): RuntimeStatus {
    const m = this.#slot.model;
    return {
      model: this.options.model,
      deviceId: this.deviceId,
      version: m?.manifest.version ?? null,
      channel: m?.manifest.channel ?? null,
      joinedCanary: this.#manifests?.optIn ?? false,
      engine: this.#updater?.choice ?? null,
      source: this.#updater?.source ?? null,
      swaps: this.#updater?.swaps ?? 0,
      predictions: this.#predictions,
      outbox: { ...this.#outboxStatus },
      sessions: { loaded: this.#slot.loaded, released: this.#slot.released },
      worker: this.#inWorker,
    };
  }

  /** The open stats window (worker mode tags what it sends the page with it). */
  get statsWindow(): WindowTag {
    return this.#stats.tag;
  }

  /**
   * Closes the current stats window into the outbox; at `pagehide` (`unloading`) without waiting for storage.
   * Each version's event has the id `statsId` gives the window (the page's copy in worker mode has the same).
   */
  async closeStats(unloading = false): Promise<void> {
    if (!this.outbox) return;
    const dropped = (unloading ? 0 : await this.outbox.takeDropped().catch(() => 0)) + this.#captureDropped;
    this.#captureDropped = 0;
    const now = Date.now();
    const seq = this.#stats.seq;
    const bodies = this.#stats.close(now, dropped, this.#slot.model?.manifest.version ?? null);
    this.#observer.statsClosed?.(seq);
    if (bodies.length === 0) return;
    // add() hands the events to the unload copy synchronously, before its first await.
    await this.outbox.add(
      bodies.map((b) => statsEvent(b, seq, this.statsToken, this.options.model, this.deviceId, now)),
    );
  }

  /**
   * At `pagehide`: hands the predictions still waiting to be captured (those that resolved in this task or the
   * last few) to the outbox, synchronously, so that the unload send carries them; then closes the stats window.
   * `final` (not into the back/forward cache): a prediction that resolves later is captured at once too.
   */
  unloading(final = true): void {
    if (final) this.#leaving = true;
    this.#captureNow();
    void this.closeStats(true);
  }

  /** The page came back from the back/forward cache: captures wait for their task again. */
  back(): void {
    this.#leaving = false;
  }

  /** Captures what waits now, hashing synchronously; `outbox.add` hands the events to the unload copy at once. */
  #captureNow(): void {
    const events = this.#takeNow(this.#pendingCapture);
    if (events) void this.outbox.add(events);
  }

  /**
   * Worker mode: captures kept prediction `id` now, in the task its result goes back to the page, and returns the
   * event as the page's unload copy needs it. The page then holds it before its app sees the result, so a page that
   * closes in that same task still sends it (the worker's own copy, posted on another port, may come too late).
   * Null when the prediction was not kept (or is already captured).
   */
  captureKept(id: string): { id: string; json: string; bytes: number } | null {
    const rec = this.#pendingCapture.find((r) => r.id === id);
    const events = rec ? this.#takeNow([rec]) : null;
    if (!events) return null;
    const copy = serialise(events[0]!, this.options.outbox?.maxEventBytes ?? OUTBOX_DEFAULTS.maxEventBytes);
    void this.outbox.add(events);
    return copy && { id, ...copy };
  }

  /** Makes the prediction events of `batch` (taken out of the pending captures), hashing synchronously. */
  #takeNow(batch: Recent[]): PredictionEvent[] | null {
    const hashNow = this.#hashNow;
    if (!this.outbox || !hashNow || batch.length === 0) return null;
    const events = batch.map((rec) => {
      const { event, bytes } = this.#predictionParts(rec, rec.keep!);
      event.inputHash = hashNow(bytes);
      return event;
    });
    const taken = new Set(batch);
    this.#pendingCapture = this.#pendingCapture.filter((r) => !taken.has(r));
    this.#recent.captured(batch);
    return events;
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    clearInterval(this.#statsTimer);
    this.#updater?.stop();
    await this.#drainCapture();
    await this.closeStats().catch(() => undefined);
    this.outbox?.dispose();
    await this.#slot.clear();
    this.events.clear();
    this.#db.close();
  }

  #reportError(code: string, message: string, version: string | null): void {
    this.events.emit('error', { code, message, version });
    const v = version ?? this.#slot.model?.manifest.version ?? 'unknown';
    this.#stats.error(v);
    const event: ErrorEvent = {
      id: newId(),
      type: 'error',
      model: this.options.model,
      version: v,
      deviceId: this.deviceId,
      ts: Date.now(),
      code,
      message: message.slice(0, 2000),
    };
    void this.outbox?.add([event]);
  }

  #capture(rec: Recent, reason: KeepReason): void {
    // A loop that predicts without ever yielding to the event loop starves the capture task: keep memory bounded.
    if (this.#pendingCapture.length >= MAX_PENDING_CAPTURE) {
      this.#captureDropped++;
      return;
    }
    rec.keep = reason;
    this.#pendingCapture.push(rec);
    if (this.#leaving) return this.#captureNow();
    // Hashing and storing run in a later task, after the prediction has resolved.
    this.#captureTimer ??= setTimeout(() => void this.#drainCapture(), 0);
  }

  async #drainCapture(): Promise<void> {
    clearTimeout(this.#captureTimer);
    this.#captureTimer = undefined;
    const batch = this.#pendingCapture;
    this.#pendingCapture = [];
    if (batch.length === 0) return;
    // Each event reads its input synchronously (#predictionEvent's first step), so once they are all made the
    // ring slots and the spill slab they were read from are free again.
    const made = this.outbox ? batch.map((rec) => this.#predictionEvent(rec, rec.keep!)) : [];
    this.#recent.captured(batch);
    if (made.length) await this.outbox.add(await Promise.all(made));
  }

  /** The prediction event of a remembered or kept prediction; its input is read (encoded, hashed) before the first await. */
  #predictionEvent(rec: Recent, reason: KeepReason | 'reported'): Promise<PredictionEvent> {
    const { event, bytes } = this.#predictionParts(rec, reason);
    // digest() copies its input when called: the ring slot may be reused after this returns.
    return sha256Hex(bytes).then((inputHash) => {
      event.inputHash = inputHash;
      return event;
    });
  }

  /** A prediction event whose input hash is still to be set, and the input's bytes to hash. */
  #predictionParts(rec: Recent, reason: KeepReason | 'reported'): { event: PredictionEvent; bytes: Uint8Array } {
    const raw = this.#recent.input(rec);
    const bytes = bytesOf(raw);
    const input =
      this.options.captureInput === false
        ? undefined
        : {
            dtype: raw instanceof Uint8Array ? ('uint8' as const) : ('float32' as const),
            shape: [...rec.shape],
            data: base64(bytes),
          };
    const r = rec.result;
    const event: PredictionEvent = {
      id: rec.id,
      type: 'prediction',
      model: this.options.model,
      version: rec.version,
      deviceId: this.deviceId,
      ts: rec.ts,
      reason,
      ...(input ? { input } : {}),
      inputHash: '',
      output: { label: r.label, confidence: r.confidence, topK: r.topK, ...(r.labels ? { labels: r.labels } : {}) },
      engine: r.engine,
      latencyMs: Math.min(3.6e6, r.latencyMs),
    };
    return { event, bytes };
  }

  async #storedDeviceId(): Promise<string> {
    try {
      // One transaction, so two tabs starting at once agree on the id.
      return await this.#db.use(async (db) => {
        const tx = db.transaction('meta', 'readwrite');
        let id = (await tx.store.get('device')) as string | undefined;
        if (!id) {
          id = crypto.randomUUID();
          await tx.store.put(id, 'device');
        }
        await tx.done;
        return id;
      });
    } catch {
      return crypto.randomUUID();
    }
  }
}
