/**
 * Structured logs (pino through Fastify): one JSON line per request with method, route, status and time.
 * Secrets never reach the log: the Authorization header is not logged and `?key=` is masked in URLs.
 */
import type { FastifyRequest } from 'fastify';

/** Masks the value of `key=` query parameters. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]key=)[^&#]*/gi, '$1[redacted]');
}

/** Fastify's `logger` option for a config value: `false`, `true` (info level) or pino options to extend. */
export function loggerOptions(logger: boolean | Record<string, unknown>): false | Record<string, unknown> {
  if (logger === false) return false;
  const base = logger === true ? {} : logger;
  return {
    level: 'info',
    ...base,
    redact: { paths: ['req.headers.authorization', 'req.query.key'], censor: '[redacted]' },
    serializers: {
      req: (req: FastifyRequest) => ({ method: req.method, url: redactUrl(req.url), remoteAddress: req.ip }),
      ...(base.serializers as Record<string, unknown> | undefined),
    },
  };
}
