/** The runtime's dedicated worker: the engine and the storage run here, the page only posts inputs. */
import * as Comlink from 'comlink';
import { RuntimeCore } from '../core.js';
import { describeError } from '../errors.js';
import type { PageSide, Result, WorkerSide } from './protocol.js';

let core: RuntimeCore | null = null;

async function wrap<T>(work: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (err) {
    return { ok: false, ...describeError(err, 'EL_RT_WORKER') };
  }
}

function need(): RuntimeCore {
  if (!core) throw new Error('the worker runtime was not started');
  return core;
}

const side: WorkerSide = {
  start(options, page: PageSide) {
    return wrap(async () => {
      const c = new RuntimeCore(options, {
        queued: (items) => void page.queued(items),
        settled: (ids) => void page.settled(ids),
        status: () => void page.status(c.status()),
        statsClosed: () => void page.statsClosed(),
      }, true);
      c.events.on('swap', (e) => {
        void page.swap(e);
        void page.status(c.status());
      });
      c.events.on('error', (e) => void page.error(e));
      core = c;
      try {
        await c.start();
      } catch (err) {
        await c.dispose();
        core = null;
        throw err;
      }
      return c.status();
    });
  },
  predict: (input) =>
    wrap(async () => {
      const prediction = await need().predict(input);
      return { prediction, low: need().isLow(prediction) };
    }),
  reportWrongResult: (id, label, options) =>
    wrap(async () => {
      const version = need().versionOf(id);
      await need().reportWrongResult(id, label, options);
      return version;
    }),
  flush: () => wrap(() => need().flush()),
  update: () => wrap(() => need().update()),
  labels: () => need().labels(),
  status: () => need().status(),
  unloading: (ids) => core?.unloading(ids),
  dispose: async () => {
    await core?.dispose();
    core = null;
  },
};

Comlink.expose(side);
