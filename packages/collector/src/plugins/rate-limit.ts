/**
 * Request budgets per (key, client IP): the ingest key is public and shared by a whole fleet, so a budget per
 * key alone would let one noisy device starve the others. Probes and scrapes are not limited. Runs after
 * auth (route-level hooks follow global ones), so unknown keys are refused before they cost a budget slot.
 */
import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { EL_RATE_LIMITED } from '../errors.js';

export interface RateLimitOptions {
  max: number;
  timeWindowMs: number;
}

async function limits(app: FastifyInstance, opts: RateLimitOptions) {
  await app.register(rateLimit, {
    global: true,
    max: opts.max,
    timeWindow: opts.timeWindowMs,
    hook: 'onRequest',
    keyGenerator: (request: FastifyRequest) => `${request.key?.id ?? '-'}|${request.ip}`,
    allowList: (request: FastifyRequest) =>
      request.routeOptions.config.scope === 'none' || request.method === 'OPTIONS',
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    errorResponseBuilder: (_request, context) =>
      new EL_RATE_LIMITED(String(Math.max(1, Math.ceil(context.ttl / 1000)))),
  });
}

export default fp(limits, { name: 'edgeloop-rate-limit', fastify: '5.x' });
