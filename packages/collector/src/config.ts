/** The collector's configuration: what `buildApp` takes and what the CLI builds from flags and environment. */
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Storage, StorageOptions } from './storage/index.js';
import { EL_INVALID_CONFIG } from './errors.js';

/** Fastify's `trustProxy` values that the collector accepts (see `CollectorConfig.trustProxy`). */
export type TrustProxy = boolean | string | string[];

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
  /**
   * Which senders' `X-Forwarded-For` names the client (rate limits, logs), as Fastify's `trustProxy`: `true` (any
   * sender), or the proxies' addresses and CIDR ranges (a list or a comma-separated string; also `loopback`,
   * `linklocal`, `uniquelocal`). Default `false`: the client is the socket's peer, so behind a proxy every device
   * shares its IP. Hop counts are refused: Fastify 5 trusts nothing with one.
   */
  trustProxy?: TrustProxy;
  /** Seconds a client should wait after a 503 from storage. Default 5. */
  retryAfterSec?: number;
  /** Milliseconds graceful shutdown waits for in-flight requests. Default 10000. */
  drainTimeoutMs?: number;
  /**
   * Milliseconds a connection may send nothing before it is closed: a client that stalls in the middle of its
   * headers or body, or an idle keep-alive connection past this. Default 30000.
   */
  idleTimeoutMs?: number;
  /**
   * Milliseconds a whole request (headers and body) may take to arrive before the collector answers 408 and closes
   * the connection: a client that sends its body a byte at a time cannot hold a connection for ever. Default 120000
   * (a model upload on a slow link).
   */
  requestTimeoutMs?: number;
  /** Automatic canary controller; `false` disables the timer (tests drive it by hand). */
  controller?: { tickMs: number } | false;
  /** Manifest `pollAfterSec` sent to devices. Default 60. */
  pollAfterSec?: number;
  /**
   * Days events are kept (`EDGELOOP_RETENTION_DAYS`, `--retention-days`): older ones are dropped by whole daily
   * partitions on PostgreSQL, deleted by row on SQLite, except those a batch or a label needs. Default `null`:
   * kept for ever.
   */
  retentionDays?: number | null;
  /**
   * Storage upkeep: every `everyMs` (and at start) PostgreSQL's partitions of the next `aheadDays` days are
   * created and retention runs; `false` disables the timer (tests run it by hand). Default every hour, 3 days ahead.
   */
  maintenance?: { everyMs: number; aheadDays?: number } | false;
}

export interface ResolvedConfig {
  storage: Storage | StorageOptions;
  dataDir: string;
  seedKeys: { admin?: string; trainer?: string; ingest?: string };
  logger: boolean | Record<string, unknown>;
  rateLimit: { max: number; timeWindowMs: number } | false;
  trustProxy: TrustProxy;
  retryAfterSec: number;
  drainTimeoutMs: number;
  idleTimeoutMs: number;
  requestTimeoutMs: number;
  controller: { tickMs: number } | false;
  pollAfterSec: number;
  retentionDays: number | null;
  maintenance: { everyMs: number; aheadDays: number } | false;
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
    trustProxy: config.trustProxy ?? false,
    retryAfterSec: config.retryAfterSec ?? 5,
    drainTimeoutMs: config.drainTimeoutMs ?? 10_000,
    idleTimeoutMs: config.idleTimeoutMs ?? 30_000,
    requestTimeoutMs: config.requestTimeoutMs ?? 120_000,
    controller: config.controller ?? { tickMs: 5000 },
    pollAfterSec: config.pollAfterSec ?? 60,
    retentionDays: config.retentionDays ?? null,
    maintenance:
      config.maintenance === false
        ? false
        : { everyMs: config.maintenance?.everyMs ?? 3_600_000, aheadDays: config.maintenance?.aheadDays ?? 3 },
  };
  for (const [scope, key] of Object.entries(resolved.seedKeys)) {
    if (key !== undefined && (typeof key !== 'string' || key.length < 16)) {
      throw new EL_INVALID_CONFIG(`seed key for "${scope}" must be a string of at least 16 characters`);
    }
  }
  if (resolved.rateLimit && !(resolved.rateLimit.max > 0 && resolved.rateLimit.timeWindowMs > 0)) {
    throw new EL_INVALID_CONFIG('rateLimit.max and rateLimit.timeWindowMs must be positive');
  }
  checkTrustProxy(resolved.trustProxy);
  if (!(resolved.retryAfterSec >= 1)) throw new EL_INVALID_CONFIG('retryAfterSec must be ≥ 1');
  if (resolved.controller && !(resolved.controller.tickMs >= 10))
    throw new EL_INVALID_CONFIG('controller.tickMs must be ≥ 10');
  if (!(resolved.pollAfterSec >= 1)) throw new EL_INVALID_CONFIG('pollAfterSec must be ≥ 1');
  if (resolved.retentionDays !== null && !(Number.isInteger(resolved.retentionDays) && resolved.retentionDays >= 1))
    throw new EL_INVALID_CONFIG('retentionDays must be an integer ≥ 1, or null');
  if (resolved.maintenance && !(resolved.maintenance.everyMs >= 1000))
    throw new EL_INVALID_CONFIG('maintenance.everyMs must be ≥ 1000');
  if (
    resolved.maintenance &&
    !(Number.isInteger(resolved.maintenance.aheadDays) && resolved.maintenance.aheadDays >= 0)
  )
    throw new EL_INVALID_CONFIG('maintenance.aheadDays must be an integer ≥ 0');
  if (!(resolved.idleTimeoutMs >= 100)) throw new EL_INVALID_CONFIG('idleTimeoutMs must be ≥ 100');
  if (!(resolved.requestTimeoutMs >= resolved.idleTimeoutMs))
    throw new EL_INVALID_CONFIG('requestTimeoutMs must be ≥ idleTimeoutMs');
  return resolved;
}

// proxy-addr's names for ranges, as Fastify accepts them.
const RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** Whether `entry` is an IP address, a CIDR range (`10.0.0.0/8`, `fd00::/8`) or one of proxy-addr's range names. */
function isProxyAddress(entry: string): boolean {
  if (RANGE_NAMES.has(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  // An IPv4 netmask (`10.0.0.0/255.0.0.0`) is accepted too.
  if (family === 4 && isIP(prefix) === 4) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** What is wrong with a `trustProxy` value, or null when it is valid (the CLI says it of its flag). */
export function trustProxyProblem(value: unknown): string | null {
  if (typeof value === 'boolean') return null;
  if (typeof value === 'number') {
    // Fastify 5 fails closed on a hop count (the peer could be a client forging hops), so it would silently trust nobody.
    return `a hop count (${value}) is not accepted, since it cannot tell a proxy from a client that forges X-Forwarded-For: list the proxies' addresses or CIDR ranges`;
  }
  const entries =
    typeof value === 'string' ? value.split(',').map((e) => e.trim()) : Array.isArray(value) ? value : null;
  if (entries === null || entries.length === 0)
    return 'must be true, false, or a list of proxy addresses and CIDR ranges';
  for (const entry of entries) {
    if (typeof entry !== 'string' || !isProxyAddress(entry)) {
      return `${JSON.stringify(entry)} is not an IP address, a CIDR range, or loopback, linklocal or uniquelocal`;
    }
  }
  return null;
}

function checkTrustProxy(value: unknown): void {
  const problem = trustProxyProblem(value);
  if (problem !== null)
    throw new EL_INVALID_CONFIG(problem.startsWith('must') ? `trustProxy ${problem}` : `trustProxy: ${problem}`);
}
