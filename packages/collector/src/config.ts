/** The collector's configuration: what `buildApp` takes and what the CLI builds from flags and environment. */
import { join } from 'node:path';
import type { Storage, StorageOptions } from './storage/index.js';
import { EL_INVALID_CONFIG } from './errors.js';

export interface CollectorConfig {
  /** An opened store, or how to open one. Default: SQLite at `<dataDir>/edgeloop.db`. */
  storage?: Storage | StorageOptions;
  /** Where the SQLite file and artifacts live. Default `./.edgeloop`. */
  dataDir?: string;
  /** Keys that exist with these scopes at start (`EDGELOOP_*_KEY`): how deployments and tests seed keys. */
  seedKeys?: { admin?: string; trainer?: string; ingest?: string };
  /** Fastify logger option: `false` (default in tests), `true`, or pino options. */
  logger?: boolean | Record<string, unknown>;
  /** Per key (or IP when no key) request budget; `false` disables. Default 6000 requests per minute. */
  rateLimit?: { max: number; timeWindowMs: number } | false;
  /** Seconds a client should wait after a 503 from storage. Default 5. */
  retryAfterSec?: number;
  /** Milliseconds graceful shutdown waits for in-flight requests. Default 10000. */
  drainTimeoutMs?: number;
  /** Automatic canary controller; `false` disables the timer (tests drive it by hand). */
  controller?: { tickMs: number } | false;
  /** Manifest `pollAfterSec` sent to devices. Default 60. */
  pollAfterSec?: number;
}

export interface ResolvedConfig {
  storage: Storage | StorageOptions;
  dataDir: string;
  seedKeys: { admin?: string; trainer?: string; ingest?: string };
  logger: boolean | Record<string, unknown>;
  rateLimit: { max: number; timeWindowMs: number } | false;
  retryAfterSec: number;
  drainTimeoutMs: number;
  controller: { tickMs: number } | false;
  pollAfterSec: number;
}

/** Fills defaults and rejects bad options at start-up rather than at the first request. */
export function resolveConfig(config: CollectorConfig = {}): ResolvedConfig {
  const dataDir = config.dataDir ?? './.edgeloop';
  const resolved: ResolvedConfig = {
    storage: config.storage ?? { sqlite: { path: join(dataDir, 'edgeloop.db') } },
    dataDir,
    seedKeys: config.seedKeys ?? {},
    logger: config.logger ?? false,
    rateLimit: config.rateLimit ?? { max: 6000, timeWindowMs: 60_000 },
    retryAfterSec: config.retryAfterSec ?? 5,
    drainTimeoutMs: config.drainTimeoutMs ?? 10_000,
    controller: config.controller ?? { tickMs: 5000 },
    pollAfterSec: config.pollAfterSec ?? 60,
  };
  for (const [scope, key] of Object.entries(resolved.seedKeys)) {
    if (key !== undefined && (typeof key !== 'string' || key.length < 16)) {
      throw new EL_INVALID_CONFIG(`seed key for "${scope}" must be a string of at least 16 characters`);
    }
  }
  if (resolved.rateLimit && !(resolved.rateLimit.max > 0 && resolved.rateLimit.timeWindowMs > 0)) {
    throw new EL_INVALID_CONFIG('rateLimit.max and rateLimit.timeWindowMs must be positive');
  }
  if (!(resolved.retryAfterSec >= 1)) throw new EL_INVALID_CONFIG('retryAfterSec must be ≥ 1');
  if (resolved.controller && !(resolved.controller.tickMs >= 10)) throw new EL_INVALID_CONFIG('controller.tickMs must be ≥ 10');
  if (!(resolved.pollAfterSec >= 1)) throw new EL_INVALID_CONFIG('pollAfterSec must be ≥ 1');
  return resolved;
}
