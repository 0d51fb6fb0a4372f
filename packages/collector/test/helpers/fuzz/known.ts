/**
 * What the store under fuzz holds, by field name (models, versions, prediction, review and batch ids, artifact
 * hashes…), learnt from the fixtures and from accepted requests: a drawn `Known` becomes one of them, so that
 * fuzzed requests also get past a lookup and reach the code behind it.
 */
import type { RouteEntry } from '@edgeloop/collector';
import type { Known } from './arbitraries.js';
import type { Built } from './requests.js';

/** Values the store holds, by field name, for requests that should get past a lookup. */
export class KnownValues {
  private readonly pools = new Map<string, string[]>();
  private static readonly ALIAS: Record<string, string> = {
    stable: 'version',
    canary: 'version',
    parent: 'version',
    predictionId: 'prediction',
    replaces: 'batch',
    deviceId: 'device',
  };
  add(pool: string, value: string) {
    const list = this.pools.get(pool) ?? [];
    if (!list.includes(value)) list.push(value);
    if (list.length > 40) list.shift();
    this.pools.set(pool, list);
  }
  /** A known value for field `k.name` of a request to `url` (an `id` is a prediction's, a review's or a batch's by route). */
  pick(k: Known, url: string): unknown {
    const idPool = url.startsWith('/v1/events/') ? 'prediction' : url.startsWith('/v1/reviews/') ? 'review' : 'batch';
    const pool = k.name === 'id' ? idPool : (KnownValues.ALIAS[k.name] ?? k.name);
    const list = this.pools.get(pool) ?? [];
    return list.length ? list[k.pick % list.length] : k.name;
  }
  /** Learns ids and names from an accepted request and its answer. */
  learn(route: RouteEntry, req: Built, answer: unknown) {
    if (answer === null || typeof answer !== 'object') return;
    const a = answer as Record<string, unknown>;
    const body = req.sent.body as Record<string, unknown> | undefined;
    if (route.url === '/v1/events' && Array.isArray(body?.events) && Array.isArray(a.rejected)) {
      const rejected = new Set((a.rejected as { index: number }[]).map((r) => r.index));
      (body.events as Record<string, unknown>[]).forEach((e, i) => {
        if (!rejected.has(i) && e.type === 'prediction' && typeof e.id === 'string') this.add('prediction', e.id);
      });
    }
    if (typeof a.id === 'string') this.add(route.url.includes('/label') ? 'review' : 'batch', a.id);
    if (typeof a.version === 'string') this.add('version', a.version);
  }
}
