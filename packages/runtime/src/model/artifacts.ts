/**
 * Model artifacts through the Cache API: content-addressed and immutable, so a cached copy is reused across
 * reloads and offline; every copy is checked against its sha256 before use and a bad one is never kept.
 */
import { sha256Hex, type Artifact } from '@edgeloop/protocol';
import { RuntimeError } from '../errors.js';

export const ARTIFACT_CACHE = 'edgeloop-artifacts';

export class ArtifactStore {
  readonly #collector: string;
  readonly #key: string;

  constructor(collector: string, key: string) {
    this.#collector = collector;
    this.#key = key;
  }

  /** The artifact's absolute URL (manifests may give it relative to the collector). */
  urlOf(artifact: Artifact): string {
    return new URL(artifact.url, `${this.#collector}/`).href;
  }

  /** The verified bytes of an artifact, from the cache or the network. */
  async get(artifact: Artifact, offline = false): Promise<ArrayBuffer> {
    const url = this.urlOf(artifact);
    const cache = await openCache();
    const hit = await cache?.match(url);
    if (hit) {
      const bytes = await hit.arrayBuffer();
      if ((await sha256Hex(bytes)) === artifact.sha256) return bytes;
      await cache?.delete(url);
    }
    if (offline)
      throw new RuntimeError(
        'EL_RT_ARTIFACT_FETCH',
        artifact.name,
        'not in the cache and the collector is unreachable',
      );
    let res: Response;
    try {
      res = await fetch(url, { headers: { authorization: `Bearer ${this.#key}` }, credentials: 'omit' });
    } catch (err) {
      throw new RuntimeError('EL_RT_ARTIFACT_FETCH', artifact.name, (err as Error).message);
    }
    if (!res.ok) throw new RuntimeError('EL_RT_ARTIFACT_FETCH', artifact.name, `HTTP ${res.status}`);
    const bytes = await res.arrayBuffer();
    const got = await sha256Hex(bytes);
    if (got !== artifact.sha256) throw new RuntimeError('EL_RT_ARTIFACT_SHA', artifact.name, artifact.sha256, got);
    await cache
      ?.put(url, new Response(bytes, { headers: { 'content-type': 'application/octet-stream' } }))
      .catch(() => undefined);
    return bytes;
  }
}

async function openCache(): Promise<Cache | undefined> {
  // The Cache API exists only in secure contexts; elsewhere artifacts are simply fetched each start.
  if (typeof caches === 'undefined') return undefined;
  return caches.open(ARTIFACT_CACHE).catch(() => undefined);
}
