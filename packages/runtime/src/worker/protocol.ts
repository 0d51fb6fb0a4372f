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
}

/** What the worker exposes. */
export interface WorkerSide {
  start(options: RuntimeOptions, page: PageSide): Promise<Result<RuntimeStatus>>;
  predict(input: ModelInput): Promise<Result<Prediction>>;
  reportWrongResult(id: string, label: string, options?: ReportOptions): Promise<Result<void>>;
  flush(): Promise<Result<OutboxStatus>>;
  update(): Promise<Result<boolean>>;
  labels(): string[];
  status(): RuntimeStatus;
  unloading(): void;
  dispose(): Promise<void>;
}
