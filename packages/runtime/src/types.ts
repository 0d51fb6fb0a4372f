/** The runtime's public types: options, results, status and the events an app can listen to. */
import type { Manifest } from '@edgeloop/protocol';
import type { EngineName } from './engines/types.js';

export type { EngineName } from './engines/types.js';

/** What `rt.predict()` takes: the raw input of one example (`manifest.input.shape` elements, no batch dim). */
export type ModelInput = Float32Array | Uint8Array | Uint8ClampedArray | readonly number[];

export interface OutboxOptions {
  /** Send as soon as this many events wait. Default 10. */
  batchEvents?: number;
  /** Send at most this long after an event was stored. Default 5000 ms. */
  flushIntervalMs?: number;
  /** Largest request body. Default 450 KB. */
  maxRequestBytes?: number;
  /** Largest event (an event with a captured input over it is sent without the input). Default 32 KB. */
  maxEventBytes?: number;
  /** Queue bound in events. Default 1000. */
  maxEvents?: number;
  /** Queue bound in bytes. Default 5 MB. */
  maxBytes?: number;
  /** First retry delay; doubles per failure. Default 3000 ms. */
  baseDelayMs?: number;
  /** Longest retry delay. Default 30 min. */
  maxDelayMs?: number;
  /** Delay after a 429 without Retry-After. Default 60 s. */
  defaultRetryAfterMs?: number;
  /** A request that takes longer counts as a network failure. Default 30 s. */
  timeoutMs?: number;
  /** Events older than this are dropped unsent. Default 7 days. */
  maxAgeMs?: number;
  /** Total keepalive bytes in flight at `pagehide` (the browser's cap is 64 KiB). Default 54 KB. */
  unloadBytes?: number;
}

export interface RuntimeOptions {
  /** The collector's base URL, e.g. `https://collector.example.com`. */
  collector: string;
  /** An ingest key (public, write-only). */
  key: string;
  /** The model name. */
  model: string;
  /** `'auto'` (measure and pick the fastest), one engine, or an ordered list to choose from. Default `'auto'`. */
  engine?: 'auto' | EngineName | EngineName[];
  /** Run engine and storage in a dedicated worker (comlink). Default `false`. */
  worker?: boolean;
  /**
   * URLs of ES modules whose default (or `engines`) export is an `Engine` or a list of them: imported and
   * registered on the thread that runs the model, the page or the worker (`registerEngine` on the page does not
   * reach the worker). Relative URLs resolve against the page.
   */
  engineModules?: string[];
  /** Keep the raw input of kept predictions (its sha256 is always kept). Default `true`. */
  captureInput?: boolean;
  /** A stable id for this device; default a random id kept in IndexedDB. */
  deviceId?: string;
  /** Override the manifest's `pollAfterSec` (ms between manifest polls); `0` turns polling off. */
  pollIntervalMs?: number;
  /** Length of a `stats` window. Default 60 000 ms. */
  statsWindowMs?: number;
  /** Warm runs per candidate when `engine: 'auto'` measures. Default 5. */
  autoRuns?: number;
  /** Where engines fetch their WebAssembly files, when the bundler does not place them next to the code. */
  wasmPaths?: { ort?: string; tfjs?: string };
  /** Outbox limits (defaults from the reliability contract). */
  outbox?: OutboxOptions;
  /** URL of a service worker script that calls `installServiceWorker()` from `@edgeloop/runtime/sw`. */
  serviceWorker?: string;
  /** How many recent predictions stay in memory so they can be reported wrong. Default 100. */
  recentPredictions?: number;
}

export interface TopK {
  label: string;
  p: number;
}

export interface Prediction {
  id: string;
  label: string;
  confidence: number;
  margin: number;
  entropy: number;
  topK: TopK[];
  version: string;
  channel: 'stable' | 'canary';
  engine: EngineName;
  latencyMs: number;
  /** Multi-label models (`output.kind: 'sigmoid'`) only: every label whose probability is at least 0.5. */
  labels?: string[];
}

export interface EngineChoice {
  name: EngineName;
  /** Why it runs: each candidate's measured ms per prediction (best of three rounds), or "asked for", or why others were skipped. */
  reason: string;
  /** Ms per prediction measured for each candidate, the best of three rounds of warm runs (only with `engine: 'auto'`). */
  measured: Partial<Record<EngineName, number>>;
  /** Candidates that could not run here, with the reason. */
  skipped: Partial<Record<EngineName, string>>;
}

export interface OutboxStatus {
  pending: number;
  pendingBytes: number;
  dropped: number;
  sent: number;
  failures: number;
  retryAt: number | null;
  lastError: string | null;
}

export interface RuntimeStatus {
  model: string;
  deviceId: string;
  version: string | null;
  channel: 'stable' | 'canary' | null;
  /** Whether this device asked for the canary (`rt.joinCanary()`); the collector decides what it gets. */
  joinedCanary: boolean;
  engine: EngineChoice | null;
  /** Where the running model came from: the network, or the cache (offline start). */
  source: 'network' | 'cache' | null;
  swaps: number;
  predictions: number;
  outbox: OutboxStatus;
  /** Model sessions created and released so far: across swaps, released stays one behind loaded. */
  sessions: { loaded: number; released: number };
  worker: boolean;
}

export interface SwapEvent {
  from: string | null;
  to: string;
  channel: 'stable' | 'canary';
  engine: EngineName;
  /** Milliseconds from seeing the new manifest to the new model serving. */
  tookMs: number;
}

export interface RuntimeErrorEvent {
  code: string;
  message: string;
  version: string | null;
}

export interface RuntimeEvents {
  swap: SwapEvent;
  error: RuntimeErrorEvent;
}

export interface ReportOptions {
  comment?: string;
}

/** What `createRuntime()` resolves to. */
export interface Runtime {
  /** Runs the current model on one input. */
  predict(input: ModelInput): Promise<Prediction>;
  /**
   * Records that prediction `id` was wrong and what the right label is (stored before it resolves): one label for a
   * single-label model, the labels that apply (possibly none) for a multi-label (`sigmoid`) one.
   */
  reportWrongResult(id: string, label: string | readonly string[], options?: ReportOptions): Promise<void>;
  /** Subscribes to `swap` or `error`; returns the unsubscribe function. */
  on<K extends keyof RuntimeEvents>(type: K, listener: (event: RuntimeEvents[K]) => void): () => void;
  /** Sends what the outbox holds now (unless the collector asked to wait); resolves when done. */
  flush(): Promise<OutboxStatus>;
  /** Polls the manifest now and swaps if it changed; resolves `true` if a new model is serving. */
  update(): Promise<boolean>;
  /**
   * Asks the collector for the canary (`true`) or to be assigned by bucket again (`false`), remembered on this
   * device for this model; polls now and resolves `true` if a new model is serving.
   */
  joinCanary(join: boolean): Promise<boolean>;
  /** What runs, why, and how the outbox is doing. */
  status(): RuntimeStatus;
  /** The labels of the running model, in output order. */
  labels(): string[];
  /** Stops polling, releases the model and the worker; queued events stay stored for the next start. */
  dispose(): Promise<void>;
}

export type { Manifest };
