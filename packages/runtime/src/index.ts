export { createRuntime } from './runtime.js';
export { defineReportElement, type ReportDetail } from './report-element.js';
export { registerEngine, listEngines } from './engines/registry.js';
export { upgrade, DB_NAME, DB_VERSION, type EdgeloopDB, type StoredEvent } from './outbox/db.js';
export { OUTBOX_DEFAULTS } from './outbox/outbox.js';
export { parseRetryAfter, backoffMs } from './outbox/transport.js';
export { score, probabilityProblem, type Scored } from './confidence.js';
export { keepReason, type KeepReason } from './policy.js';
export { RuntimeError, codes as errorCodes, type ErrorCode } from './errors.js';
export type { Engine, EngineName, EngineSession, EngineContext, ModelFiles } from './engines/types.js';
export type {
  Runtime,
  RuntimeOptions,
  OutboxOptions,
  ModelInput,
  Prediction,
  TopK,
  EngineChoice,
  OutboxStatus,
  RuntimeStatus,
  SwapEvent,
  RuntimeErrorEvent,
  RuntimeEvents,
  ReportOptions,
} from './types.js';
