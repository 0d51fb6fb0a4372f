// The outbox's delivery cases from reliability.md, in real Chromium against a real collector, with faults put
// on the path between the page and the collector.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { startEnv, type Env } from './helpers/env.js';
import { startAppServer, type SeenRequest } from './helpers/server.js';
import { digits } from './helpers/fixture.js';
import { sleep, waitFor } from './helpers/wait.js';

const FAST = { baseDelayMs: 150, maxDelayMs: 2000, flushIntervalMs: 100, timeoutMs: 1000 };

describe('outbox delivery', () => {
  let env: Env;
  const { x } = digits(100);

  before(async () => {
    env = await startEnv();
    // Every prediction is kept (confidence is always below 1): N predictions make N prediction events.
    await env.publish('keep-all', {}, { lowConfidence: 1, sampleRate: 0 });
  });
  after(() => env?.close());
  beforeEach(() => {
    env.server.fault = null;
  });

  async function start(
    context?: BrowserContext,
    outbox: Record<string, number> = FAST,
    extra: Record<string, unknown> = {},
  ): Promise<Page> {
    const page = await env.open(context ?? (await env.context()));
    await page.evaluate(
      (opts) => window.kit.create('rt', opts),
      env.options({ engine: 'ort-wasm', pollIntervalMs: 0, statsWindowMs: 3_600_000, outbox, ...extra }),
    );
    return page;
  }
  const predict = (page: Page, xs: number[][]) =>
    page.evaluate((xs) => window.kit.predictAll('rt', xs).then((ps) => ps.map((p) => p.id)), xs);
  const flush = (page: Page) => page.evaluate(() => window.kit.rts.rt!.flush());
  const status = (page: Page) => page.evaluate(() => window.kit.rts.rt!.status());
  const predictions = () => env.eventCount('prediction');
  const postsWith = (ids: string[]) => env.server.eventPosts().filter((r) => r.ids.some((id) => ids.includes(id)));

  test('sends once 10 events wait, not before', async () => {
    const page = await start(undefined, { ...FAST, flushIntervalMs: 600_000 });
    const first = await predict(page, x.slice(0, 9));
    await sleep(300);
    assert.equal(postsWith(first).length, 0, 'sent before 10 events waited');
    const tenth = await predict(page, x.slice(9, 10));
    await waitFor('a batch with the 10 events', () => postsWith([...first, ...tenth]).some((r) => r.ids.length >= 10));
    // Acknowledged, so stored: the next test counts the collector's events from here.
    await waitFor('an empty outbox', async () => (await status(page)).outbox.pending === 0);
  });

  test('a lost ack is resent and the collector keeps one copy per id', async () => {
    const page = await start();
    const before = await predictions();
    let lost = 0;
    env.server.fault = (r) => (r.ids.length > 0 && lost++ === 0 ? { kind: 'lose-ack' } : undefined);
    const ids = await predict(page, x.slice(0, 5));
    await flush(page);
    await waitFor('the resend', () => postsWith(ids).filter((r) => r.outcome === '200').length > 0);
    const posts = postsWith(ids);
    assert.equal(posts[0]!.outcome, 'lost ack (200)');
    assert.ok(
      ids.every((id) => posts[0]!.ids.includes(id) && posts.at(-1)!.ids.includes(id)),
      'the resend carries the same ids',
    );
    assert.equal((await predictions()) - before, 5);
    await waitFor('an empty outbox', async () => (await status(page)).outbox.pending === 0);
  });

  test('a tab closed before the ack keeps its events, and they arrive when the app is opened again', async () => {
    const context = await env.context();
    const page = await start(context, { ...FAST, flushIntervalMs: 600_000 });
    const before = await predictions();
    env.server.fault = (r) => (r.ids.length > 0 ? { kind: 'hang' } : undefined);
    const ids = await predict(page, x.slice(0, 10));
    await waitFor('the send to start', () => postsWith(ids).length > 0);
    await page.close({ runBeforeUnload: true });
    assert.equal(await predictions(), before, 'nothing may be committed while the collector hangs');
    env.server.fault = null;
    const again = await start(context);
    await waitFor('the events from the closed tab', async () => (await predictions()) - before === 10);
    await waitFor('an empty outbox', async () => (await status(again)).outbox.pending === 0);
  });

  for (const worker of [false, true]) {
    test(`back online, what waits is sent at once, not at the end of the backoff${worker ? ' (worker)' : ''}`, async () => {
      // A backoff of a minute: without the `online` listener nothing would be sent within the wait below.
      const context = await env.context();
      const slow = { ...FAST, baseDelayMs: 60_000, maxDelayMs: 60_000, flushIntervalMs: 600_000 };
      try {
        const page = await start(context, slow, { worker });
        await context.setOffline(true);
        const ids = await predict(page, x.slice(0, 3));
        await flush(page);
        const waiting = await status(page);
        assert.equal(waiting.outbox.pending, 3);
        assert.ok(waiting.outbox.retryAt !== null && waiting.outbox.retryAt > Date.now() + 30_000, 'backing off');
        assert.equal(postsWith(ids).length, 0, 'nothing reached the collector while offline');
        await context.setOffline(false);
        await waitFor('the events, sent when the browser came back online', () =>
          postsWith(ids).some((r) => r.outcome === '200'),
        );
        await waitFor('an empty outbox', async () => (await status(page)).outbox.pending === 0);
      } finally {
        await context.close();
      }
    });
  }

  test('predictions that resolved in the task that ends the page still go out with the pagehide send', async () => {
    const context = await env.context();
    // Nothing is sent before pagehide: only the unload send can carry the predictions.
    const page = await start(context, { ...FAST, batchEvents: 1000, flushIntervalMs: 600_000 });
    const before = await predictions();
    const ids = await page.evaluate(
      async (xs) => {
        const rt = window.kit.rts.rt!;
        // The page going away is simulated by pagehide and then no task running after it: every timer set from
        // here on is cleared, so only what pagehide hands to the unload send can reach the collector.
        const timers: number[] = [];
        const set = window.setTimeout.bind(window) as (f: () => void, ms?: number) => number;
        window.setTimeout = ((f: () => void, ms?: number) => {
          const t = set(f, ms);
          timers.push(t);
          return t;
        }) as unknown as typeof setTimeout;
        const ids: string[] = [];
        for (const v of xs) ids.push((await rt.predict(new Float32Array(v))).id);
        // In the task where the last prediction resolved: its capture has not run yet when the page goes.
        window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: false }));
        for (const t of timers) clearTimeout(t);
        window.setTimeout = (() => 0) as unknown as typeof setTimeout;
        return ids;
      },
      x.slice(0, 10),
    );
    await page.close();
    await waitFor('the 10 predictions on the collector', () => ids.every((id) => postsWith([id]).length > 0));
    await waitFor('all of them stored', async () => (await predictions()) - before === 10);
    await context.close();
  });

  test('worker: true, predictions that resolved in the task that ends the page go out with its pagehide send', async () => {
    const context = await env.context();
    // Nothing is sent before pagehide (the worker's outbox waits for 1,000 events or 10 minutes): only the page's
    // unload send can carry the predictions.
    const page = await start(context, { ...FAST, batchEvents: 1000, flushIntervalMs: 600_000 }, { worker: true });
    const before = await predictions();
    const ids = await page.evaluate(
      async (xs) => {
        const rt = window.kit.rts.rt!;
        const ids: string[] = [];
        for (const v of xs) ids.push((await rt.predict(new Float32Array(v))).id);
        // In the task where the last prediction resolved: the worker's own copy of its capture, posted on another
        // port, has not reached the page yet.
        window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: false }));
        return ids;
      },
      x.slice(0, 10),
    );
    // Checked before the page closes: what the worker hands over later is not sent until another pagehide.
    await waitFor('the 10 predictions in the pagehide send', () => ids.every((id) => postsWith([id]).length > 0));
    await page.close();
    await waitFor('all of them stored', async () => (await predictions()) - before === 10);
    await context.close();
  });

  test('at pagehide events go to another origin as text/plain with ?key=, without a preflight', async () => {
    const other = await startAppServer(env.dataDir, env.collectorUrl);
    try {
      const context = await env.context();
      const page = await start(
        context,
        { ...FAST, batchEvents: 1000, flushIntervalMs: 600_000 },
        { collector: other.url },
      );
      const before = await predictions();
      const ids = await predict(page, x.slice(0, 6));
      await waitFor('the 6 events stored', async () => (await status(page)).outbox.pending >= 6);
      assert.equal(other.eventPosts().length, 0, 'sent before pagehide');
      await page.close({ runBeforeUnload: true });
      await waitFor('the unload sends', () => ids.every((id) => other.eventPosts().some((p) => p.ids.includes(id))));
      const posts = other.eventPosts();
      for (const p of posts) {
        assert.match(String(p.headers['content-type']), /^text\/plain/);
        assert.equal(p.query.get('key'), env.options().key);
        assert.equal(p.headers.authorization, undefined);
      }
      assert.equal(
        other.seen.filter((r) => r.method === 'OPTIONS' && r.path === '/v1/events').length,
        0,
        'a preflight was sent',
      );
      await waitFor('the events on the collector', async () => (await predictions()) - before === 6);
    } finally {
      await other.close();
    }
  });

  test('worker: true sends at pagehide from the page what the worker had not had acknowledged', async () => {
    const context = await env.context();
    const page = await start(context, { ...FAST, batchEvents: 1000, flushIntervalMs: 600_000 }, { worker: true });
    const before = await predictions();
    const ids = await predict(page, x.slice(0, 6));
    await waitFor('the 6 events stored', async () => (await status(page)).outbox.pending >= 6);
    assert.equal(postsWith(ids).length, 0, 'sent before pagehide');
    await page.close({ runBeforeUnload: true });
    await waitFor('the unload send', () => postsWith(ids).length > 0);
    assert.ok(postsWith(ids).every((p) => String(p.headers['content-type']).startsWith('text/plain')));
    await waitFor('the events on the collector', async () => (await predictions()) - before === 6);
  });

  test('worker: true sends the stats window still open at pagehide from the page, once', async () => {
    const context = await env.context();
    const page = await start(context, { ...FAST, batchEvents: 1000, flushIntervalMs: 600_000 }, { worker: true });
    const before = await env.eventCount('stats');
    const ids = await predict(page, x.slice(0, 7));
    await waitFor('the 7 events stored', async () => (await status(page)).outbox.pending >= 7);
    await page.close({ runBeforeUnload: true });
    // The window's counts go with the unload send: the worker may be gone before it could close the window.
    const statsIn = (r: SeenRequest) =>
      (
        JSON.parse(r.body.toString('utf8')) as {
          events: { type: string; predictions?: number; lowConfidence?: number; version?: string }[];
        }
      ).events.filter((e) => e.type === 'stats');
    await waitFor('the stats window in the unload send', () => postsWith(ids).some((r) => statsIn(r).length > 0));
    const [stats] = postsWith(ids).flatMap(statsIn);
    assert.deepEqual([stats!.version, stats!.predictions, stats!.lowConfidence], ['keep-all', 7, 7]);
    await waitFor('the stats event on the collector', async () => (await env.eventCount('stats')) - before >= 1);
    // If the worker lived long enough to close the window too, it used the same id: one window, counted once.
    await sleep(500);
    assert.equal((await env.eventCount('stats')) - before, 1);
  });

  test('worker: true, a pagehide the page lives through (back/forward cache): the page and the worker send the window under one id', async () => {
    const page = await start(undefined, { ...FAST, batchEvents: 1000, flushIntervalMs: 600_000 }, { worker: true });
    const before = await env.eventCount('stats');
    await predict(page, x.slice(0, 5));
    await page.evaluate(() => window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true })));
    // The worker closes its window too, under the id the page sent: the collector keeps one.
    await flush(page);
    await waitFor('the stats event on the collector', async () => (await env.eventCount('stats')) - before >= 1);
    await sleep(300);
    assert.equal((await env.eventCount('stats')) - before, 1);
    // The next window starts from zero on both sides.
    await predict(page, x.slice(0, 2));
    await page.evaluate(() => window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true })));
    await flush(page);
    await waitFor('the second window', async () => (await env.eventCount('stats')) - before === 2);
    const windows = env.server
      .eventPosts()
      .flatMap((r) =>
        (
          JSON.parse(r.body.toString('utf8')) as { events: { type: string; predictions?: number; ts: number }[] }
        ).events.filter((e) => e.type === 'stats'),
      );
    assert.deepEqual([...new Set(windows.slice(-4).map((w) => w.predictions))].sort(), [2, 5]);
  });

  test('large unload sends are chunked under the keepalive cap; what does not fit arrives at the next start', async () => {
    const context = await env.context();
    const page = await start(context, { ...FAST, batchEvents: 1000, flushIntervalMs: 600_000 });
    const before = await predictions();
    // Each event carries its 28×28 float32 input (about 4.7 KB): 40 of them are far over 64 KiB.
    const ids = await predict(page, x.slice(0, 40));
    await waitFor('the 40 events stored', async () => (await status(page)).outbox.pending >= 40);
    await page.close({ runBeforeUnload: true });
    await waitFor('the unload sends', () => postsWith(ids).length > 0);
    await sleep(300);
    const unloadPosts = postsWith(ids);
    const total = unloadPosts.reduce((n, r) => n + r.body.length, 0);
    assert.ok(total <= 54_000, `${total} bytes of keepalive bodies in flight`);
    assert.ok(unloadPosts.length >= 2, 'one keepalive body carried everything');
    const sentAtUnload = new Set(unloadPosts.flatMap((r) => r.ids)).size;
    assert.ok(sentAtUnload > 0 && sentAtUnload < 40);
    await start(context);
    await waitFor('all 40 events', async () => (await predictions()) - before === 40);
  });

  test('two tabs, 100 events: exactly 100 ids on the collector, no batch sent twice', async () => {
    const context = await env.context();
    const [a, b] = [await start(context), await start(context)];
    const before = await predictions();
    const firstPost = env.server.seen.length;
    // A slow collector makes the two tabs' sends overlap.
    env.server.fault = (r) => (r.ids.length > 0 ? { kind: 'delay', ms: 150 } : undefined);
    const [idsA, idsB] = await Promise.all([predict(a, x.slice(0, 50)), predict(b, x.slice(50, 100))]);
    await Promise.all([flush(a), flush(b)]);
    await waitFor('100 events', async () => (await predictions()) - before === 100);
    const sent = env.server.seen
      .slice(firstPost)
      .filter((r: SeenRequest) => r.path === '/v1/events')
      .flatMap((r) => r.ids);
    const mine = new Set([...idsA, ...idsB]);
    const sentMine = sent.filter((id) => mine.has(id));
    assert.equal(sentMine.length, 100, `${sentMine.length} ids sent for 100 events (a batch was sent twice)`);
    assert.equal(new Set(sentMine).size, 100);
  });

  for (const kind of ['network error', 'timeout', '500', '503'] as const) {
    test(`${kind}: retried with backoff until it arrives`, async () => {
      const page = await start();
      const before = await predictions();
      let failures = 0;
      env.server.fault = (r) => {
        if (r.ids.length === 0 || failures >= 2) return undefined;
        failures++;
        if (kind === 'network error') return { kind: 'reset' };
        if (kind === 'timeout') return { kind: 'hang' };
        return { kind: 'status', status: Number(kind) };
      };
      const ids = await predict(page, x.slice(0, 3));
      await flush(page);
      const s = await status(page);
      assert.ok(
        s.outbox.failures >= 1 && s.outbox.retryAt !== null,
        `no backoff after a ${kind}: ${JSON.stringify(s.outbox)}`,
      );
      await waitFor(
        'the events after retries',
        async () => (await predictions()) - before === 3 && postsWith(ids).at(-1)?.outcome === '200',
      );
      const posts = postsWith(ids);
      assert.ok(posts.length >= 2 && posts.at(-1)!.outcome === '200', 'failures, then one success');
      // The first retry waits at least half the base delay (±50 % jitter): never at once. (Chromium itself may
      // replay a request once on a reset connection; that is not the outbox retrying.)
      assert.ok(posts.at(-1)!.at - posts[0]!.at >= FAST.baseDelayMs / 2, 'retried without backoff');
      assert.equal((await status(page)).outbox.dropped, 0);
    });
  }

  for (const code of [400, 401, 403, 413, 422]) {
    test(`${code}: dropped and counted, never retried`, async () => {
      const page = await start();
      const before = await predictions();
      let target: string[] = [];
      env.server.fault = (r) =>
        r.ids.some((id) => target.includes(id)) ? { kind: 'status', status: code } : undefined;
      target = await predict(page, x.slice(0, 4));
      await flush(page);
      await waitFor('the drop', async () => (await status(page)).outbox.dropped === 4);
      const s = await status(page);
      assert.equal(s.outbox.pending, 0);
      assert.equal(await predictions(), before);
      const sends = postsWith(target).length;
      await flush(page);
      assert.equal(postsWith(target).length, sends, 'a dropped event was sent again');
    });
  }

  for (const form of ['seconds', 'HTTP date'] as const) {
    test(`429 with Retry-After as ${form}: nothing is sent early, from any tab`, async () => {
      const context = await env.context();
      const page = await start(context);
      const before = await predictions();
      let limited = false;
      let until = 0;
      env.server.fault = (r) => {
        if (r.ids.length === 0 || limited) return undefined;
        limited = true;
        until = form === 'seconds' ? Date.now() + 2000 : Math.ceil((Date.now() + 2000) / 1000) * 1000;
        const value = form === 'seconds' ? '2' : new Date(until).toUTCString();
        return { kind: 'status', status: 429, headers: { 'retry-after': value } };
      };
      const ids = await predict(page, x.slice(0, 3));
      await flush(page);
      const other = await start(context);
      await flush(other);
      await flush(page);
      await waitFor('the events after Retry-After', async () => (await predictions()) - before === 3);
      const posts = postsWith(ids);
      assert.equal(posts[0]!.outcome, 'fault 429');
      for (const p of posts.slice(1))
        assert.ok(p.at >= until - 5, `sent ${until - p.at} ms before Retry-After allowed`);
    });
  }
});
