/** What crosses between the page and the runtime's worker (through comlink). */
import type { ModelInput, OutboxStatus, Prediction, ReportOptions, RuntimeOptions, RuntimeStatus, SwapEvent, RuntimeErrorEvent } from '../types.js';

/** Errors cross as values: comlink would keep only the message of a thrown error, and the code matters. */
export type Result<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

/** Callbacks the page gives the worker. */
export interface PageSide {
  queued(items: { id: string; json: string; bytes: number }[]): void;
  settled(ids: string[]): void;
  status(status: RuntimeStatus): void;
  swap(event: SwapEvent): void;
  error(event: RuntimeErrorEvent): void;
  /** The worker closed its stats window: the page's copy of the open window starts again. */
  statsClosed(): void;
}

/** A prediction and whether the serving policy counted it as low-confidence (for the page's copy of the stats). */
export interface Predicted {
  prediction: Prediction;
  low: boolean;
}

/** What the worker exposes. */
export interface WorkerSide {
  start(options: RuntimeOptions, page: PageSide): Promise<Result<RuntimeStatus>>;
  predict(input: ModelInput): Promise<Result<Predicted>>;
  /** Resolves with the version the correction was counted against. */
  reportWrongResult(id: string, label: string, options?: ReportOptions): Promise<Result<string>>;
  flush(): Promise<Result<OutboxStatus>>;
  update(): Promise<Result<boolean>>;
  labels(): string[];
  status(): RuntimeStatus;
  /** `pagehide`: close the stats window, each version's event under the id the page sent it with. */
  unloading(ids: Record<string, string>): void;
  dispose(): Promise<void>;
}
