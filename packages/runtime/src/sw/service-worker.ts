/**
 * Call `installServiceWorker()` from the app's service worker script: it serves model artifacts cache-first
 * (they are immutable and content-addressed), and flushes the outbox on Background Sync, after the tab is gone.
 */
import { Database, type Db } from '../outbox/db.js';
import { Outbox } from '../outbox/outbox.js';
import type { Destination } from '../outbox/transport.js';
import { ARTIFACT_CACHE } from '../model/artifacts.js';
import { sha256Hex } from '@edgeloop/protocol';
import { SYNC_TAG } from './register.js';

interface ExtendableEventLike extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface FetchEventLike extends ExtendableEventLike {
  request: Request;
  respondWith(r: Promise<Response>): void;
}
interface SyncEventLike extends ExtendableEventLike {
  tag: string;
  lastChance?: boolean;
}
interface SwScope {
  addEventListener(type: string, listener: (e: Event) => void): void;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
}

const ARTIFACT_PATH = /\/v1\/artifacts\/([0-9a-f]{64})$/;

/** Serves an artifact from the cache, or fetches, verifies and caches it. */
async function artifact(request: Request, sha: string): Promise<Response> {
  const cache = await caches.open(ARTIFACT_CACHE);
  const hit = await cache.match(request.url);
  if (hit) return hit;
  const res = await fetch(request);
  if (!res.ok) return res;
  const bytes = await res.arrayBuffer();
  const fresh = new Response(bytes, { status: 200, headers: { 'content-type': 'application/octet-stream' } });
  if ((await sha256Hex(bytes)) === sha) await cache.put(request.url, fresh.clone());
  return fresh;
}

/** Flushes every collector's outbox; rejects while events remain, so the browser retries the sync later. */
export async function flushOutboxes(db = new Database()): Promise<number> {
  const dests = await db.use(async (d: Db) => {
    const out: Destination[] = [];
    let cursor = await d.transaction('meta').store.openCursor(IDBKeyRange.bound('dest:', 'dest:\uffff'));
    while (cursor) {
      out.push(cursor.value as Destination);
      cursor = await cursor.continue();
    }
    return out;
  });
  let pending = 0;
  for (const dest of dests) {
    const outbox = new Outbox(db, dest);
    const s = await outbox.flush();
    outbox.dispose();
    if (s.retryAt !== null) pending += s.pending;
  }
  if (pending > 0) throw new Error(`${pending} event(s) still waiting for the collector`);
  return pending;
}

/** Installs the edgeloop handlers in a service worker. */
export function installServiceWorker(scope: SwScope = self as unknown as SwScope): void {
  scope.addEventListener('install', () => void scope.skipWaiting());
  scope.addEventListener('activate', (e) => (e as ExtendableEventLike).waitUntil(scope.clients.claim()));
  scope.addEventListener('fetch', (e) => {
    const event = e as FetchEventLike;
    if (event.request.method !== 'GET') return;
    const match = ARTIFACT_PATH.exec(new URL(event.request.url).pathname);
    if (match) event.respondWith(artifact(event.request, match[1]!));
  });
  scope.addEventListener('sync', (e) => {
    const event = e as SyncEventLike;
    if (event.tag === SYNC_TAG) event.waitUntil(flushOutboxes());
  });
}
