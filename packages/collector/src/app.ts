/**
 * `buildApp(config)` builds the collector as a Fastify instance (tests drive it with `inject()`);
 * `server.ts` only listens. Each feature is one plugin under `routes/`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import { getManifest, MAX_BODY_BYTES } from '@edgeloop/protocol';
import { resolveConfig, type CollectorConfig, type ResolvedConfig } from './config.js';
import { openStorage, type Storage } from './storage/index.js';
import { createKey } from './keys.js';
import auth from './plugins/auth.js';
import cors, { CORS_HEADERS } from './plugins/cors.js';
import { manifestFastPath } from './rollout/fast-path.js';
import storableInput from './plugins/storable-input.js';
import health from './routes/health.js';
import review from './routes/review.js';
import batches from './routes/batches.js';
import unreported from './routes/unreported.js';
import golden from './routes/golden.js';
import baseData from './routes/base-data.js';
import admin from './routes/admin.js';
import shutdown from './plugins/shutdown.js';
import prometheus from './plugins/prometheus.js';
import openapi from './plugins/openapi.js';
import rateLimit from './plugins/rate-limit.js';
import events from './routes/events.js';
import release from './rollout/plugin.js';
import registry from './routes/registry.js';
import artifacts from './routes/artifacts.js';
import rollout from './routes/rollout.js';
import manifest from './routes/manifest.js';
import modelMetrics from './routes/metrics.js';
import leases from './routes/leases.js';
import maintenance from './plugins/maintenance.js';
import { loggerOptions } from './logging.js';
import { recordRoutes } from './route-table.js';
import { sendClientError, sendError } from './error-reply.js';
import { EL_NOT_FOUND } from './errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    storage: Storage;
    config: ResolvedConfig;
  }
}

export type App = FastifyInstance;

// Bodies are validated exactly as sent (no coercion, no stripping); query strings and params may coerce.
const strictAjv = new Ajv({
  coerceTypes: false,
  removeAdditional: false,
  useDefaults: true,
  allErrors: false,
  strict: false,
});
const queryAjv = new Ajv({
  coerceTypes: true,
  removeAdditional: false,
  useDefaults: true,
  allErrors: false,
  strict: false,
});

/** Builds the collector: storage opened and migrated, seed keys created, every route registered. */
export async function buildApp(config: CollectorConfig = {}): Promise<App> {
  const cfg = resolveConfig(config);
  const storage = 'kind' in cfg.storage ? cfg.storage : openStorage(cfg.storage);
  await storage.migrate();
  for (const scope of ['admin', 'trainer', 'ingest'] as const) {
    const secret = cfg.seedKeys[scope];
    if (secret) await createKey(storage, scope, `seed-${scope}`, secret);
  }

  // The manifest poll's fast path (rollout/fast-path.ts) sees each request first; it is set once every plugin it
  // reads from is registered, and answers nothing before.
  let fastPath: ((req: IncomingMessage, res: ServerResponse) => boolean) | null = null;
  const keepAliveTimeout = Math.min(72_000, cfg.idleTimeoutMs);
  const http = {
    headersTimeout: Math.min(60_000, cfg.requestTimeoutMs),
    connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.round(cfg.requestTimeoutMs / 4))),
  };
  const app = Fastify({
    serverFactory: (handler) => {
      const server = createServer(http, (req, res) => {
        if (!fastPath?.(req, res)) handler(req, res);
      });
      // What Fastify sets on a server it makes itself.
      server.keepAliveTimeout = keepAliveTimeout;
      server.requestTimeout = cfg.requestTimeoutMs;
      server.setTimeout(cfg.idleTimeoutMs);
      return server;
    },
    logger: loggerOptions(cfg.logger),
    bodyLimit: MAX_BODY_BYTES,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: false, // plugins/shutdown.ts answers 503 in our error format, with Retry-After
    forceCloseConnections: 'idle',
    // Slow clients: a connection that sends nothing for idleTimeoutMs is closed, and a request whose headers and
    // body have not all arrived within requestTimeoutMs gets 408 (Node checks every quarter of it, at most every 30 s).
    connectionTimeout: cfg.idleTimeoutMs,
    requestTimeout: cfg.requestTimeoutMs,
    keepAliveTimeout,
    http,
    genReqId: () => crypto.randomUUID(),
    trustProxy: cfg.trustProxy,
    // A URL Fastify cannot decode never reaches the error handler; answer it in the same format.
    frameworkErrors: (err, request, reply) => sendError(err, request, reply, cfg.retryAfterSec),
    // Nor does a request Node's HTTP parser refuses (a malformed request line or header, headers too large, a
    // request that did not arrive in time).
    clientErrorHandler: (err, socket) => sendClientError(err, socket, cfg.requestTimeoutMs),
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? strictAjv : queryAjv).compile(schema as object),
  );
  recordRoutes(app);
  app.decorate('storage', storage);
  app.decorate('config', cfg);

  app.setErrorHandler((err: FastifyError, request, reply) => sendError(err, request, reply, cfg.retryAfterSec));

  app.setNotFoundHandler((request) => {
    throw new EL_NOT_FOUND(`Route ${request.method} ${request.url.split('?')[0]}`);
  });

  // Shutdown order: preClose hooks stop the canary controller (awaiting a running pass) and refuse new requests,
  // then Fastify drains in-flight requests, then onClose hooks run, last-registered first: this one, registered
  // before every plugin, closes the store after everything else.
  app.addHook('onClose', async () => {
    await storage.close();
  });
  await app.register(shutdown);
  await app.register(prometheus);
  await app.register(openapi);
  await app.register(cors);
  await app.register(auth, { storage });
  await app.register(storableInput);
  if (cfg.rateLimit) await app.register(rateLimit, cfg.rateLimit);
  await app.register(health);
  await app.register(review);
  await app.register(batches);
  await app.register(unreported);
  await app.register(golden);
  await app.register(baseData);
  await app.register(admin);
  await app.register(events);
  await app.register(release);
  await app.register(registry);
  await app.register(artifacts);
  await app.register(rollout);
  await app.register(manifest);
  await app.register(modelMetrics);
  await app.register(leases);
  await app.register(maintenance);

  // With a trusted proxy the client's address comes from X-Forwarded-For, which the fast path does not read: the
  // pipeline then answers every poll.
  if (!cfg.trustProxy)
    fastPath = manifestFastPath({
      manifests: app.manifests,
      cachedKey: (secret) => app.cachedKey(secret),
      ...(app.withinBudget ? { withinBudget: app.withinBudget } : {}),
      closing: () => app.closing,
      record: (status, seconds) => app.prometheus.record('GET', getManifest.url, status, seconds),
      headers: CORS_HEADERS,
    });
  return app;
}
