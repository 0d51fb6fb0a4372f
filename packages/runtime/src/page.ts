/**
 * The page side of a runtime (whether the runtime runs here or in a worker): sends what is unacknowledged at
 * `pagehide` with keepalive, and asks the service worker for a Background Sync so the outbox drains even after
 * the tab is gone; and sends what waits as soon as the browser is `online` again.
 */
import type { Destination } from './outbox/transport.js';
import type { UnloadQueue } from './outbox/unload.js';

export interface PageHooks {
  dest: Destination;
  unload: UnloadQueue;
  unloadBytes: number;
  /**
   * Synchronous work before the keepalive send (closing the stats window). `final`: the page is going away (not
   * into the back/forward cache, where it is frozen and may come back).
   */
  beforeUnload(final: boolean): void;
  /** Asks the service worker for a Background Sync (when one is registered). */
  sync?: () => void;
  /** The browser is online again: send what waits now, not at the end of a backoff. */
  online(): void;
  /** The page came back from the back/forward cache after a `pagehide`. */
  back(): void;
}

/** Listens to the page's lifecycle; returns the function that stops listening. */
export function watchPage(hooks: PageHooks): () => void {
  if (typeof window === 'undefined' || typeof document === 'undefined') return () => undefined;
  const onPagehide = (e: PageTransitionEvent) => {
    hooks.beforeUnload(!e.persisted);
    hooks.unload.send(hooks.dest, hooks.unloadBytes, !e.persisted);
    hooks.sync?.();
  };
  const onPageshow = (e: PageTransitionEvent) => {
    if (!e.persisted) return;
    hooks.unload.back();
    hooks.back();
  };
  const onOnline = () => hooks.online();
  window.addEventListener('pagehide', onPagehide);
  window.addEventListener('pageshow', onPageshow);
  window.addEventListener('online', onOnline);
  return () => {
    window.removeEventListener('pagehide', onPagehide);
    window.removeEventListener('pageshow', onPageshow);
    window.removeEventListener('online', onOnline);
  };
}
