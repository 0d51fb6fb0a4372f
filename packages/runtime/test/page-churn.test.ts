// Page churn (reliability.md, "nothing lost"): an app predicts every 20 ms while its page is reloaded or closed at
// random moments, in page and worker mode. Every prediction the app saw resolve must reach the collector, once.
// The app records each resolved id in localStorage in the task it resolved in, so the record survives the page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startEnv, type Env } from './helpers/env.js';
import { digits } from './helpers/fixture.js';
import { sleep, waitFor } from './helpers/wait.js';

/** Page lives per mode: half end in a reload, half in a close. */
const LIVES = Number(process.env.CHURN_LIVES ?? 10);

describe('page churn', () => {
  let env: Env;
  const { x } = digits(20);

  before(async () => {
    env = await startEnv();
    // Every prediction is kept (confidence is always below 1): each resolved prediction is one event to deliver.
    await env.publish('keep-all', {}, { lowConfidence: 1, sampleRate: 0 });
  });
  after(() => env?.close());

  /** Starts the runtime and a prediction every 20 ms (one at a time), each resolved id written down at once. */
  async function startPredicting(page: Page, worker: boolean): Promise<void> {
    await page.evaluate(
      async ({ opts, xs }) => {
        const rt = await window.edgeloop.createRuntime(opts);
        let busy = false;
        let i = 0;
        setInterval(() => {
          if (busy) return;
          busy = true;
          rt.predict(new Float32Array(xs[i++ % xs.length]!)).then(
            (p) => {
              localStorage.setItem(`churn:${p.id}`, '1');
              busy = false;
            },
            () => (busy = false),
          );
        }, 20);
      },
      {
        opts: env.options({ engine: 'ort-wasm', worker, pollIntervalMs: 0, outbox: { flushIntervalMs: 500 } }),
        xs: x,
      },
    );
  }

  for (const worker of [false, true]) {
    test(`${worker ? 'worker' : 'page'} mode: every prediction that resolved before a reload or close is stored once`, async (t) => {
      const context = await env.context();
      // A seeded walk of page lives from 150 to 1,350 ms, so a failure can be replayed.
      let seed = worker ? 7 : 3;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      let page = await env.open(context);
      for (let life = 0; life < LIVES; life++) {
        await startPredicting(page, worker);
        await sleep(150 + random() * 1200);
        if (life % 2 === 0) {
          await page.reload();
          await page.waitForFunction(() => window.harnessReady === true);
        } else {
          await page.close({ runBeforeUnload: true });
          page = await env.open(context);
        }
      }
      // A last start sends what earlier lives left stored in IndexedDB.
      const resolved = await page.evaluate(
        async (opts) => {
          const rt = await window.edgeloop.createRuntime(opts);
          while ((await rt.flush()).pending > 0) await new Promise((r) => setTimeout(r, 100));
          await rt.dispose();
          return Object.keys(localStorage)
            .filter((k) => k.startsWith('churn:'))
            .map((k) => k.slice('churn:'.length));
        },
        env.options({ engine: 'ort-wasm', worker, pollIntervalMs: 0 }),
      );
      await context.close();
      assert.ok(resolved.length > LIVES * 5, `only ${resolved.length} predictions resolved in ${LIVES} page lives`);
      const missing = async () => {
        const stored = await Promise.all(resolved.map((id) => env.collector.storage.events.get(id)));
        return resolved.filter((_, i) => stored[i] === undefined);
      };
      await waitFor('every resolved prediction stored', async () => (await missing()).length === 0, 30_000).catch(
        () => undefined,
      );
      const lost = await missing();
      t.diagnostic(
        `${worker ? 'worker' : 'page'} mode: ${resolved.length} resolved in ${LIVES} lives, ${lost.length} lost`,
      );
      assert.deepEqual(
        lost,
        [],
        `${lost.length} of ${resolved.length} resolved predictions never reached the collector`,
      );
    });
  }
});
