/** The runtime's dedicated worker: the engine and the storage run here, the page only posts inputs. */
import * as Comlink from 'comlink';
import { RuntimeCore } from '../core.js';
import type { PageSide, WorkerSide } from './protocol.js';
import { carryErrorCodes } from './thrown.js';

carryErrorCodes();
let core: RuntimeCore | null = null;

function need(): RuntimeCore {
  if (!core) throw new Error('the worker runtime was not started');
  return core;
}

const side: WorkerSide = {
  async start(options, page: PageSide) {
    // The app's own engines, imported here: registerEngine on the page does not reach this thread.
    if (options.engineModules?.length)
      await import('../engines/modules.js').then((m) => m.importEngines(options.engineModules!));
    const c = new RuntimeCore(
      options,
      {
        queued: (items) => void page.queued(items),
        settled: (ids) => void page.settled(ids),
        status: () => void page.status(c.status()),
        statsClosed: (seq) => void page.statsClosed(seq),
      },
      true,
    );
    c.events.on('swap', (e) => {
      void page.swap(e);
      void page.status(c.status());
    });
    // Emitted just before it is counted, in the same turn: the open window is the one it is counted in.
    c.events.on('error', (e) => void page.error(e, c.statsWindow));
    core = c;
    try {
      await c.start();
    } catch (err) {
      await c.dispose();
      core = null;
      throw err;
    }
    return { status: c.status(), token: c.statsToken };
  },
  async predict(input) {
    const c = need();
    const prediction = await c.predict(input);
    // Read in the prediction's own continuation: a window closes in a task of its own, never in between.
    const kept = c.captureKept(prediction.id);
    return { prediction, low: c.isLow(prediction), window: c.statsWindow, ...(kept ? { kept } : {}) };
  },
  reportWrongResult: async (id, label, options) => need().reportWrongResult(id, label, options),
  flush: async () => need().flush(),
  online: async () => need().online(),
  update: async () => need().update(),
  joinCanary: async (join) => need().joinCanary(join),
  labels: () => need().labels(),
  status: () => need().status(),
  unloading: (final) => core?.unloading(final),
  back: () => core?.back(),
  dispose: async () => {
    await core?.dispose();
    core = null;
  },
};

Comlink.expose(side);
