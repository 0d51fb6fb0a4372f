/** `createRuntime()`: the runtime on the page's thread, or in a dedicated worker with `worker: true`. */
import type { OutboxStatus, Runtime, RuntimeOptions } from './types.js';
import { RuntimeCore, checkOptions } from './core.js';
import { OUTBOX_DEFAULTS } from './outbox/outbox.js';
import { UnloadQueue } from './outbox/unload.js';
import { watchPage } from './page.js';

/** Loads the model assigned to this device and starts logging, polling and the outbox. */
export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  // Engines named in engineModules are known only once their modules are imported, on the thread that runs them.
  const modules = options.engineModules?.length ? await import('./engines/modules.js') : null;
  checkOptions(options, { engines: !modules });
  const o = modules ? await modules.withEngineModules(options) : options;
  if (o.worker) {
    const { createWorkerRuntime } = await import('./worker/client.js');
    return createWorkerRuntime(o);
  }
  return createLocalRuntime(o);
}

/** Whether a failed send should also be handed to the service worker's Background Sync. */
export function needsSync(s: OutboxStatus): boolean {
  return s.retryAt !== null && s.pending > 0;
}

/** Registers the app's service worker (workbox-window loads only then); returns how to ask it for a sync. */
export async function serviceWorkerSync(url: string | undefined): Promise<(() => void) | undefined> {
  if (!url) return undefined;
  const { registerServiceWorker, requestBackgroundSync } = await import('./sw/register.js');
  await registerServiceWorker(url).catch(() => undefined);
  return () => void requestBackgroundSync();
}

async function createLocalRuntime(options: RuntimeOptions): Promise<Runtime> {
  const unload = new UnloadQueue();
  const sync = await serviceWorkerSync(options.serviceWorker);
  const core = new RuntimeCore(options, {
    queued: (items) => unload.queued(items),
    settled: (ids) => unload.settled(ids),
    status: (s) => {
      if (sync && needsSync(s)) sync();
    },
  });
  try {
    await core.start();
  } catch (err) {
    await core.dispose();
    throw err;
  }
  const stop = watchPage({
    dest: { url: core.collector, key: options.key },
    unload,
    unloadBytes: options.outbox?.unloadBytes ?? OUTBOX_DEFAULTS.unloadBytes,
    beforeUnload: (final) => core.unloading(final),
    sync,
    online: () => void core.online().catch(() => undefined),
    back: () => core.back(),
  });
  return {
    predict: (input) => core.predict(input),
    reportWrongResult: async (id, label, opts) => {
      await core.reportWrongResult(id, label, opts);
    },
    on: (type, listener) => core.events.on(type, listener),
    flush: () => core.flush(),
    update: () => core.update(),
    joinCanary: (join) => core.joinCanary(join),
    status: () => core.status(),
    labels: () => core.labels(),
    dispose: async () => {
      stop();
      await core.dispose();
    },
  };
}
