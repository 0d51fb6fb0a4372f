/**
 * The page side of a runtime (whether the runtime runs here or in a worker): sends what is unacknowledged at
 * `pagehide` with keepalive, and asks the service worker for a Background Sync so the outbox drains even after
 * the tab is gone.
 */
import type { Destination } from './outbox/transport.js';
import type { UnloadQueue } from './outbox/unload.js';

export interface PageHooks {
  dest: Destination;
  unload: UnloadQueue;
  unloadBytes: number;
  /** Synchronous work before the keepalive send (closing the stats window). */
  beforeUnload(): void;
  /** Asks the service worker for a Background Sync (when one is registered). */
  sync?: () => void;
}

/** Listens to the page's lifecycle; returns the function that stops listening. */
export function watchPage(hooks: PageHooks): () => void {
  if (typeof window === 'undefined' || typeof document === 'undefined') return () => undefined;
  const onPagehide = () => {
    hooks.beforeUnload();
    hooks.unload.send(hooks.dest, hooks.unloadBytes);
    hooks.sync?.();
  };
  window.addEventListener('pagehide', onPagehide);
  return () => window.removeEventListener('pagehide', onPagehide);
}
