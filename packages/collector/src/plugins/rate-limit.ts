/**
 * Request budgets per (key, client IP): the ingest key is public and shared by a whole fleet, so a budget per
 * key alone would let one noisy device starve the others. Probes and scrapes are not limited. Runs after
 * auth (route-level hooks follow global ones), so unknown keys are refused before they cost a budget slot.
 */
import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import { LRUCache } from 'lru-cache';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { EL_RATE_LIMITED } from '../errors.js';

export interface RateLimitOptions {
  max: number;
  timeWindowMs: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Counts one request against `key`'s budget (`<key id>|<client address>`); false once it is spent. The store
     * the plugin counts in, for the manifest fast path (rollout/fast-path.ts); absent without rate limits.
     */
    withinBudget?: (key: string) => boolean;
  }
}

/**
 * Fixed windows per key, as the plugin's own local store counts them, in one store the plugin and the manifest
 * fast path share (a budget is one budget whichever path answers).
 */
class SharedStore {
  readonly #windows = new LRUCache<string, { current: number; start: number }>({ max: 5000 });

  hit(key: string, timeWindow: number): { current: number; ttl: number } {
    const now = Date.now();
    let w = this.#windows.get(key);
    if (!w || w.start + timeWindow <= now) this.#windows.set(key, (w = { current: 0, start: now }));
    w.current++;
    return { current: w.current, ttl: w.start + timeWindow - now };
  }

  incr(key: string, cb: (err: Error | null, res: { current: number; ttl: number }) => void, timeWindow: number) {
    cb(null, this.hit(key, timeWindow));
  }

  child(): SharedStore {
    return new SharedStore();
  }
}

async function limits(app: FastifyInstance, opts: RateLimitOptions) {
  const store = new SharedStore();
  app.decorate('withinBudget', (key: string) => store.hit(key, opts.timeWindowMs).current <= opts.max);
  await app.register(rateLimit, {
    // The plugin constructs its store: hand it the shared one.
    store: function Store() {
      return store;
    } as unknown as never,
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
