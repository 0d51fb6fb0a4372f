/** Registers the app's service worker through workbox-window, and asks it for Background Sync of the outbox. */
export const SYNC_TAG = 'edgeloop-outbox';

interface SyncRegistration {
  sync?: { register(tag: string): Promise<void> };
}

/** Registers `url` (a script that calls `installServiceWorker()`); resolves when it is registered. */
export async function registerServiceWorker(url: string): Promise<void> {
  if (typeof navigator === 'undefined' || !('serviceWorker' in navigator)) return;
  const { Workbox } = await import('workbox-window');
  await new Workbox(url, { type: 'module' }).register();
}

/** Asks the browser to wake the service worker to flush the outbox when it is online (Chromium only). */
export async function requestBackgroundSync(): Promise<boolean> {
  if (typeof navigator === 'undefined' || !navigator.serviceWorker?.controller) return false;
  try {
    const reg = (await navigator.serviceWorker.ready) as ServiceWorkerRegistration & SyncRegistration;
    if (!reg.sync) return false;
    await reg.sync.register(SYNC_TAG);
    return true;
  } catch {
    return false;
  }
}
