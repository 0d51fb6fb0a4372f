/**
 * `buildApp(config)` builds the collector as a Fastify instance (tests drive it with `inject()`);
 * `server.ts` only listens. Each feature is one plugin under `routes/`.
 */
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import { MAX_BODY_BYTES } from '@edgeloop/protocol';
import { resolveConfig, type CollectorConfig, type ResolvedConfig } from './config.js';
import { openStorage, StorageUnavailableError, type Storage } from './storage/index.js';
import { createKey } from './keys.js';
import auth from './plugins/auth.js';
import cors from './plugins/cors.js';
import health from './routes/health.js';
import review from './routes/review.js';
import batches from './routes/batches.js';
import golden from './routes/golden.js';
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
import { loggerOptions } from './logging.js';
import { recordRoutes } from './route-table.js';
import { EL_BODY_TOO_LARGE, EL_INVALID_BODY, EL_NOT_FOUND, EL_STORAGE_UNAVAILABLE, EL_UNSUPPORTED_MEDIA_TYPE } from './errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    storage: Storage;
    config: ResolvedConfig;
  }
}

export type App = FastifyInstance;

// Bodies are validated exactly as sent (no coercion, no stripping); query strings and params may coerce.
const strictAjv = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false, strict: false });
const queryAjv = new Ajv({ coerceTypes: true, removeAdditional: false, useDefaults: true, allErrors: false, strict: false });

/** Builds the collector: storage opened and migrated, seed keys created, every route registered. */
export async function buildApp(config: CollectorConfig = {}): Promise<App> {
  const cfg = resolveConfig(config);
  const storage = 'kind' in cfg.storage ? cfg.storage : openStorage(cfg.storage);
  await storage.migrate();
  for (const scope of ['admin', 'trainer', 'ingest'] as const) {
    const secret = cfg.seedKeys[scope];
    if (secret) await createKey(storage, scope, `seed-${scope}`, secret);
  }

  const app = Fastify({
    logger: loggerOptions(cfg.logger),
    bodyLimit: MAX_BODY_BYTES,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: false, // plugins/shutdown.ts answers 503 in our error format, with Retry-After
    forceCloseConnections: 'idle',
    genReqId: () => crypto.randomUUID(),
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? strictAjv : queryAjv).compile(schema as object),
  );
  recordRoutes(app);
  app.decorate('storage', storage);
  app.decorate('config', cfg);

  app.setErrorHandler((err: FastifyError, request, reply) => {
    let error: FastifyError = err;
    if (err instanceof StorageUnavailableError) error = new EL_STORAGE_UNAVAILABLE(err.message);
    else if (err.validation) error = new EL_INVALID_BODY(`${err.validationContext ?? 'body'}${err.message.replace(/^[a-z]+/, '')}`);
    else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') error = new EL_BODY_TOO_LARGE(MAX_BODY_BYTES);
    else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') error = new EL_UNSUPPORTED_MEDIA_TYPE(request.headers['content-type'] ?? '', 'a type this route accepts');
    else if (err.code?.startsWith('FST_ERR_CTP_') || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) {
      error = new EL_INVALID_BODY(err.message);
    }
    const statusCode = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (statusCode === 503) reply.header('retry-after', String(cfg.retryAfterSec));
    if (statusCode >= 500 && statusCode !== 503) request.log.error({ err }, 'request failed');
    const code = error.code && error.code.startsWith('EL_') ? error.code : statusCode >= 500 ? 'EL_INTERNAL' : (error.code ?? 'EL_ERROR');
    const message = statusCode >= 500 && statusCode !== 503 ? 'Internal error: the collector logged the details' : error.message;
    return reply.status(statusCode).send({ statusCode, code, error: httpReason(statusCode), message });
  });

  app.setNotFoundHandler((request) => {
    throw new EL_NOT_FOUND(`Route ${request.method} ${request.url.split('?')[0]}`);
  });

  await app.register(shutdown);
  await app.register(prometheus);
  await app.register(openapi);
  await app.register(cors);
  await app.register(auth, { storage });
  if (cfg.rateLimit) await app.register(rateLimit, cfg.rateLimit);
  await app.register(health);
  await app.register(review);
  await app.register(batches);
  await app.register(golden);
  await app.register(admin);
  await app.register(events);
  await app.register(release);
  await app.register(registry);
  await app.register(artifacts);
  await app.register(rollout);
  await app.register(manifest);
  await app.register(modelMetrics);

  app.addHook('onClose', async () => {
    await storage.close();
  });
  return app;
}

function httpReason(status: number): string {
  const reasons: Record<number, string> = {
    400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 413: 'Payload Too Large',
    415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
  };
  return reasons[status] ?? 'Error';
}
