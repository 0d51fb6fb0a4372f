/**
 * The manifest poll's fast path. Every device polls its manifest, so the collector answers the common case before
 * Fastify's request pipeline (routing, schema validation, the hooks of every plugin): a plain `GET` whose query is
 * `device` (and maybe `canary`, `key`) with nothing to decode, whose key is in the key cache with ingest scope,
 * whose model's manifest is cached and fresh, and whose rate budget is not spent. It answers exactly as the route
 * would (`routes/manifest.ts`: the same bytes, ETag, 304 and headers), counts in the same budget and Prometheus
 * series, and writes no per-request log line. Anything else — a miss, an error, a `HEAD`, an odd query, a
 * proxy-derived client address, shutdown — returns false and goes through the full pipeline, which decides it;
 * `test/manifest-fast-path.test.ts` sends every such case both ways and compares the answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyRecord } from '../storage/index.js';
import { scopeAllows } from '../keys.js';
import { etagMatches } from '../etag.js';
import type { ManifestCache, ServedManifest } from './manifest-cache.js';

const answers = new WeakMap<ServedManifest, { ok: string[]; notModified: string[] }>();

export interface FastPathDeps {
  manifests: ManifestCache;
  /** The cached lookup of a key's secret: the record, null for a known-bad key, undefined when not cached. */
  cachedKey(secret: string): KeyRecord | null | undefined;
  /** Counts one request against `key`'s budget; false when it is spent (the full pipeline then answers 429). */
  withinBudget?(key: string): boolean;
  closing(): boolean;
  /** Records the answered request in the route's Prometheus series. */
  record(status: number, seconds: number): void;
  /** Headers every answer of the route carries (CORS). */
  headers: Record<string, string>;
}

const PATH = /^\/v1\/models\/([a-z0-9][a-z0-9._-]{0,63})\/manifest\?/;
const DEVICE = /^[\x21-\x7e]{1,128}$/;
const BEARER = /^bearer[ \t]+(\S+)[ \t]*$/i;

/** A compiled manifest's response headers, made once (as flat name/value lists, which writeHead takes as they are). */
function headersOf(served: ServedManifest, common: Record<string, string>): { ok: string[]; notModified: string[] } {
  const notModified = [...Object.entries(common).flat(), 'etag', served.etag, 'cache-control', 'private, no-cache'];
  const ok = [
    ...notModified,
    'content-type',
    'application/json; charset=utf-8',
    'content-length',
    String(served.body.length),
  ];
  return { ok, notModified };
}

/** Returns the fast path: true when it answered the request, false to hand it to Fastify. */
export function manifestFastPath(deps: FastPathDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const started = performance.now();
    if (req.method !== 'GET') return false;
    const url = req.url!;
    const path = PATH.exec(url);
    if (!path || url.includes('%') || url.includes('+') || url.includes('#')) return false;
    let device: string | undefined;
    let canary: boolean | undefined;
    let queryKey: string | undefined;
    for (const pair of url.slice(path[0].length).split('&')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) return false;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (name === 'device' && device === undefined && DEVICE.test(value)) device = value;
      else if (name === 'canary' && canary === undefined && (value === 'true' || value === 'false'))
        canary = value === 'true';
      else if (name === 'key' && queryKey === undefined && value !== '' && value.length <= 512) queryKey = value;
      else return false;
    }
    if (device === undefined || deps.closing()) return false;
    // The key as the auth hook reads it: a well-formed Bearer, or `?key=`; both only when they agree.
    const header = req.headers.authorization;
    const fromHeader = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (header !== undefined && fromHeader === undefined) return false;
    if (fromHeader !== undefined && queryKey !== undefined && fromHeader !== queryKey) return false;
    const secret = fromHeader ?? queryKey;
    const record = secret === undefined ? undefined : deps.cachedKey(secret);
    if (!record || !scopeAllows(record.scope, 'ingest')) return false;
    const model = path[1]!;
    const served = deps.manifests.fresh(model, device, canary === true);
    if (!served) return false;
    if (deps.withinBudget && !deps.withinBudget(`${record.id}|${req.socket.remoteAddress}`)) return false;
    let h = answers.get(served);
    if (!h) answers.set(served, (h = headersOf(served, deps.headers)));
    const notModified = etagMatches(req.headers['if-none-match'], served.etag);
    if (notModified) res.writeHead(304, h.notModified).end();
    else res.writeHead(200, h.ok).end(served.body);
    deps.record(notModified ? 304 : 200, (performance.now() - started) / 1000);
    return true;
  };
}
