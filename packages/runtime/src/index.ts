// The public entry: what README.md documents, nothing more. Tests and tools reach the rest through
// `@edgeloop/runtime/internal`, which makes no semver promise.
export { createRuntime } from './runtime.js';
export { defineReportElement, type ReportDetail } from './report-element.js';
export { registerEngine, listEngines } from './engines/registry.js';
export { RuntimeError, type ErrorCode } from './errors.js';
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
