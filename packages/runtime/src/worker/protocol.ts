/** What crosses between the page and the runtime's worker (through comlink). */
import type {
  ModelInput,
  OutboxStatus,
  Prediction,
  ReportOptions,
  RuntimeOptions,
  RuntimeStatus,
  SwapEvent,
  RuntimeErrorEvent,
} from '../types.js';
import type { WindowTag } from '../stats.js';

/** Callbacks the page gives the worker. */
export interface PageSide {
  queued(items: { id: string; json: string; bytes: number }[]): void;
  settled(ids: string[]): void;
  status(status: RuntimeStatus): void;
  swap(event: SwapEvent): void;
  /** An error event, and the stats window it was counted in. */
  error(event: RuntimeErrorEvent, window: WindowTag): void;
  /** The worker closed stats window `seq` and sent it: the page drops its copy of it. */
  statsClosed(seq: number): void;
}

/** A prediction, whether the serving policy counted it as low-confidence, and in which stats window (for the page's copy). */
export interface Predicted {
  prediction: Prediction;
  low: boolean;
  window: WindowTag;
  /**
   * A kept prediction's event, for the page's unload copy: it comes with the result, so the page holds it before the
   * app sees the prediction, even if the page then closes in that same task.
   */
  kept?: { id: string; json: string; bytes: number };
}

/** The version a correction was counted against, and in which stats window. */
export interface Reported {
  version: string;
  window: WindowTag;
}

/** What the worker exposes. Its methods throw RuntimeErrors, which cross with their `code` (`thrown.ts`). */
export interface WorkerSide {
  /** Starts the runtime; `token` makes its stats event ids (`statsId`), so the page's copies get the same. */
  start(options: RuntimeOptions, page: PageSide): Promise<{ status: RuntimeStatus; token: string }>;
  predict(input: ModelInput): Promise<Predicted>;
  reportWrongResult(id: string, label: string | readonly string[], options?: ReportOptions): Promise<Reported>;
  flush(): Promise<OutboxStatus>;
  /** The page saw `online`: end the outbox's backoff and send now. */
  online(): Promise<OutboxStatus>;
  update(): Promise<boolean>;
  joinCanary(join: boolean): Promise<boolean>;
  labels(): string[];
  status(): RuntimeStatus;
  /** `pagehide`: close the stats window (its events have the ids of the page's copy); `final`: see RuntimeCore.unloading. */
  unloading(final: boolean): void;
  /** `pageshow` from the back/forward cache. */
  back(): void;
  dispose(): Promise<void>;
}
