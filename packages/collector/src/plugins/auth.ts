/**
 * Every route names the scope it needs in `config.scope` ('none' for probes; unnamed means admin). Keys come from
 * `Authorization: Bearer`, or `?key=` on ingest routes (unload-time sends cannot set headers without a
 * preflight). Key lookups are cached briefly: the manifest route is every device's hot path.
 */
import fp from 'fastify-plugin';
import { LRUCache } from 'lru-cache';
import type { Endpoint } from '@edgeloop/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { KeyRecord, Scope, Storage } from '../storage/index.js';
import { hashKey, scopeAllows } from '../keys.js';
import { EL_FORBIDDEN, EL_UNAUTHORIZED } from '../errors.js';

export type RouteScope = Scope | 'none';

declare module 'fastify' {
  interface FastifyContextConfig {
    scope?: RouteScope;
    /** The protocol's spec of the route, for routes of the v1 API. */
    endpoint?: Endpoint;
  }
  interface FastifyRequest {
    key: KeyRecord | null;
  }
}

export interface AuthOptions {
  storage: Storage;
  /** Milliseconds a key lookup is cached; a revoked key stops working in other processes within this. */
  cacheMs?: number;
}

const BEARER = /^bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * The key a request carries, or undefined. A header that is not a well-formed Bearer, two `?key=` values, or a
 * header and a query key that disagree all count as no key: an ambiguous credential is never guessed at.
 */
function secretOf(request: FastifyRequest, scope: RouteScope): string | undefined {
  const header = request.headers.authorization;
  const fromHeader = header === undefined ? undefined : (BEARER.exec(header)?.[1] ?? null);
  if (fromHeader === null) return undefined;
  if (scope !== 'ingest') return fromHeader;
  const q = (request.query as Record<string, unknown> | undefined)?.key;
  if (q === undefined) return fromHeader;
  if (typeof q !== 'string' || q === '') return undefined;
  if (fromHeader !== undefined && fromHeader !== q) return undefined;
  return q;
}

async function auth(fastify: FastifyInstance, opts: AuthOptions) {
  const cacheMs = opts.cacheMs ?? 5000;
  // Keyed by the secret itself (process memory only, never logged): a cache hit costs no sha256. lru-cache
  // expires entries, merges concurrent lookups of one key and keeps at most `max` keys.
  const cache = new LRUCache<string, { record: KeyRecord | null }>({
    max: 10_000,
    ttl: Math.max(1, cacheMs),
    fetchMethod: async (secret, _stale, { options }) => {
      const found = await opts.storage.keys.findByHash(hashKey(secret));
      const record =
        found && found.revokedAt === null
          ? { id: found.id, name: found.name, scope: found.scope, createdAt: found.createdAt, revokedAt: null }
          : null;
      // Unknown keys are remembered briefly only, so a key created by the CLI works almost at once.
      if (!record) options.ttl = Math.min(cacheMs, 1000);
      return { record };
    },
  });
  fastify.decorate('forgetKeys', () => cache.clear());
  fastify.decorate('cachedKey', (secret: string) => cache.get(secret)?.record);
  fastify.decorateRequest('key', null);
  // A callback hook: a fresh cache hit (the manifest poll, every device's hot path) is answered with no promise.
  fastify.addHook('onRequest', (request, _reply, done) => {
    // Default-deny: a route that forgets to name its scope is admin-only, never public.
    if (request.method === 'OPTIONS' || request.is404) return done();
    const scope = request.routeOptions.config.scope ?? 'admin';
    if (scope === 'none') return done();
    const secret = secretOf(request, scope);
    if (!secret) return done(new EL_UNAUTHORIZED());
    const admit = (record: KeyRecord | null) => {
      if (!record) return done(new EL_UNAUTHORIZED());
      if (!scopeAllows(record.scope, scope)) return done(new EL_FORBIDDEN(record.scope, scope));
      request.key = record;
      done();
    };
    const hit = cache.get(secret);
    if (hit) return admit(hit.record);
    cache.fetch(secret).then((found) => admit(found?.record ?? null), done);
  });
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Drops cached key lookups (after a revoke in this process). */
    forgetKeys(): void;
    /** A fresh cached lookup of a key's secret: its record, null for a refused key, undefined when not cached. */
    cachedKey(secret: string): KeyRecord | null | undefined;
  }
}

export default fp(auth, { name: 'edgeloop-auth', fastify: '5.x' });
