/** The manifest: which version this device runs. Polled with ETag; the last one that loaded is kept for offline starts. */
import type { Manifest } from '@edgeloop/protocol';
import { RuntimeError } from '../errors.js';
import type { Database } from '../outbox/db.js';

export type ManifestAnswer = { kind: 'changed'; manifest: Manifest } | { kind: 'unchanged' };

function isManifest(m: unknown): m is Manifest {
  const x = m as Manifest;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.version === 'string' &&
    Array.isArray(x.artifacts) &&
    Array.isArray(x.labels) &&
    typeof x.input === 'object' &&
    Array.isArray(x.input?.shape) &&
    typeof x.policy === 'object' &&
    (x.channel === 'stable' || x.channel === 'canary')
  );
}

export class ManifestClient {
  #etag: string | null = null;
  /** This device asks for the canary (`?canary=true`); the collector decides. */
  optIn = false;

  readonly #collector: string;
  readonly #key: string;
  readonly #model: string;
  readonly #deviceId: string;
  readonly #db: Database;

  constructor(collector: string, key: string, model: string, deviceId: string, db: Database) {
    this.#collector = collector;
    this.#key = key;
    this.#model = model;
    this.#deviceId = deviceId;
    this.#db = db;
  }

  /** Fetches the manifest (conditionally once one was seen). Throws `EL_RT_MANIFEST` on failure. */
  async fetch(): Promise<ManifestAnswer> {
    const url = `${this.#collector}/v1/models/${encodeURIComponent(this.#model)}/manifest?device=${encodeURIComponent(this.#deviceId)}${this.optIn ? '&canary=true' : ''}`;
    const headers: Record<string, string> = { authorization: `Bearer ${this.#key}` };
    if (this.#etag) headers['if-none-match'] = this.#etag;
    let res: Response;
    try {
      res = await fetch(url, { headers, credentials: 'omit', cache: 'no-store' });
    } catch (err) {
      throw new RuntimeError('EL_RT_MANIFEST', `network error: ${(err as Error).message}`);
    }
    if (res.status === 304) return { kind: 'unchanged' };
    if (!res.ok) throw new RuntimeError('EL_RT_MANIFEST', `HTTP ${res.status}`);
    const manifest: unknown = await res.json().catch(() => null);
    if (!isManifest(manifest)) throw new RuntimeError('EL_RT_MANIFEST', 'the answer is not a manifest');
    this.#etag = res.headers.get('etag');
    return { kind: 'changed', manifest };
  }

  /** Forgets the ETag so the next fetch returns the full manifest. */
  reset(): void {
    this.#etag = null;
  }

  /** The manifest of the last model that loaded on this device. */
  lastGood(): Promise<Manifest | undefined> {
    return this.#db.getMeta<Manifest>(`manifest:${this.#model}`).catch(() => undefined);
  }

  /** Remembers a manifest whose model loaded and passed its probe. */
  remember(manifest: Manifest): Promise<void> {
    return this.#db.setMeta(`manifest:${this.#model}`, manifest).catch(() => undefined);
  }
}
