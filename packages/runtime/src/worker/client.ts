/** The page's handle on a runtime that runs in a dedicated worker: inference never blocks the page. */
import * as Comlink from 'comlink';
import type { Runtime, RuntimeEvents, RuntimeOptions, RuntimeStatus } from '../types.js';
import type { PageSide, WorkerSide } from './protocol.js';
import { carryErrorCodes } from './thrown.js';
import { Emitter } from '../emitter.js';
import { RuntimeError } from '../errors.js';
import { OUTBOX_DEFAULTS, serialise } from '../outbox/outbox.js';
import { WindowCopies } from './copies.js';
import { UnloadQueue } from '../outbox/unload.js';
import { watchPage } from '../page.js';
import { needsSync, serviceWorkerSync } from '../runtime.js';

/** Starts the worker and the runtime in it. */
export async function createWorkerRuntime(options: RuntimeOptions): Promise<Runtime> {
  carryErrorCodes();
  const worker = new Worker(new URL('./entry.js', import.meta.url), { type: 'module', name: 'edgeloop-runtime' });
  const remote = Comlink.wrap<WorkerSide>(worker);
  const events = new Emitter<RuntimeEvents>();
  const unload = new UnloadQueue();
  const sync = await serviceWorkerSync(options.serviceWorker);
  let snapshot: RuntimeStatus | null = null;
  let predictions = 0;
  let disposed = false;
  let labelsCache: string[] = [];
  // The page's copies of the worker's open stats windows, from the results it receives: at pagehide they go out
  // with the unload send, since the worker may be gone before it can close its window itself.
  const copies = new WindowCopies();
  let token = '';

  const page: PageSide = {
    queued: (items) => unload.queued(items),
    settled: (ids) => unload.settled(ids),
    status: (s) => {
      snapshot = s;
      if (sync && needsSync(s.outbox)) sync();
    },
    swap: (e) => {
      void remote.labels().then((l) => {
        labelsCache = l;
        events.emit('swap', e);
      });
    },
    error: (e, window) => {
      copies.error(window, e.version ?? snapshot?.version ?? 'unknown');
      events.emit('error', e);
    },
    statsClosed: (seq) => copies.closed(seq),
  };
  const failed = new Promise<never>((_, reject) => {
    worker.addEventListener(
      'error',
      (e) => reject(new RuntimeError('EL_RT_WORKER', e.message || 'the worker script failed to load')),
      { once: true },
    );
  });
  try {
    // Options are structured-cloned; the callbacks go as a comlink proxy.
    ({ status: snapshot, token } = await Promise.race([remote.start(options, Comlink.proxy(page)), failed]));
  } catch (err) {
    worker.terminate();
    throw err;
  }
  labelsCache = await remote.labels();
  // Callbacks come on another port than answers: read the status again after anything that changes it.
  const refresh = async <T>(value: T): Promise<T> => {
    snapshot = await remote.status();
    return value;
  };
  const stop = watchPage({
    dest: { url: options.collector.replace(/\/+$/, ''), key: options.key },
    unload,
    unloadBytes: options.outbox?.unloadBytes ?? OUTBOX_DEFAULTS.unloadBytes,
    beforeUnload: (final) => {
      const items: { id: string; json: string; bytes: number }[] = [];
      for (const event of copies.close(Date.now(), token, options.model, snapshot!.deviceId)) {
        const s = serialise(event, options.outbox?.maxEventBytes ?? OUTBOX_DEFAULTS.maxEventBytes);
        if (s) items.push({ id: event.id, ...s });
      }
      unload.queued(items);
      // If the worker lives to close its own window, its events have the same ids: one window, counted once.
      void remote.unloading(final);
    },
    sync,
    online: () => void remote.online().then(refresh, () => undefined),
    back: () => void remote.back(),
  });
  const live = () => {
    if (disposed) throw new RuntimeError('EL_RT_DISPOSED');
  };
  return {
    predict: async (input) => {
      live();
      const { prediction: p, low, window, kept } = await remote.predict(input);
      if (kept) unload.queued([kept]);
      predictions++;
      copies.prediction(window, p.version, p.latencyMs, p.confidence, p.label, low);
      return p;
    },
    reportWrongResult: async (id, label, opts) => {
      live();
      const { version, window } = await remote.reportWrongResult(id, label, opts);
      copies.correction(window, version);
    },
    on: (type, listener) => events.on(type, listener),
    flush: async () => refresh(await remote.flush()),
    update: async () => {
      const swapped = await remote.update();
      if (swapped) labelsCache = await remote.labels();
      return refresh(swapped);
    },
    joinCanary: async (join) => {
      live();
      const swapped = await remote.joinCanary(join);
      if (swapped) labelsCache = await remote.labels();
      return refresh(swapped);
    },
    status: () => ({ ...snapshot!, predictions: Math.max(predictions, snapshot!.predictions), worker: true }),
    labels: () => [...labelsCache],
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      stop();
      await remote.dispose();
      remote[Comlink.releaseProxy]();
      worker.terminate();
      events.clear();
    },
  };
}
