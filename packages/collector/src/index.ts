export { buildApp, type App } from './app.js';
export { resolveConfig, type CollectorConfig, type ResolvedConfig, type TrustProxy } from './config.js';
export {
  openStorage,
  StorageUnavailableError,
  type Storage,
  type StorageOptions,
  type Scope,
  type RetentionStore,
  type RetentionResult,
} from './storage/index.js';
export { createKey, generateKey, hashKey } from './keys.js';
export { catalogue as errors } from './errors.js';
export { startServer, closeGracefully, type ServeOptions, type RunningCollector } from './server.js';
export { devKeysPath, readDevKeys, type DevKeys } from './dev-keys.js';
export { RolloutController, type ControllerDecision } from './rollout/controller.js';
export { analyseCanary, type CanaryVerdict } from './rollout/canary-analysis.js';
export { psi, labelPsi } from './rollout/psi.js';
export type { RolloutState } from './rollout/types.js';
export type { AuditEntry, AuditAction } from '@edgeloop/protocol';
export type { ModelSummary } from './registry/types.js';
// Type-only re-exports that also bring these modules' Fastify augmentations (app.routeTable, app.closing,
// app.forgetKeys, app.prometheus) to users of the published types.
export type { RouteEntry } from './route-table.js';
export type { RouteScope } from './plugins/auth.js';
export type { Prometheus, IngestMetrics } from './plugins/prometheus.js';
export type { MaintenancePass } from './plugins/maintenance.js';
import './plugins/shutdown.js';
