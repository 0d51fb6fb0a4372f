// The outbox's storage cases from reliability.md, in real Chromium: poison events, bounds and drop order,
// quota exceeded, a lost IndexedDB connection, expiry.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { startEnv, type Env } from './helpers/env.js';
import { digits } from './helpers/fixture.js';
import { sleep, waitFor } from './helpers/wait.js';

const FAST = { baseDelayMs: 100, maxDelayMs: 1000, flushIntervalMs: 100, timeoutMs: 2000 };
const DOWN = { kind: 'status', status: 503, headers: { 'retry-after': '0' } } as const;

interface Posted {
  id: string;
  type: string;
  reason?: string;
  dropped?: number;
  predictionId?: string;
}

describe('outbox storage', () => {
  let env: Env;
  const { x } = digits(60);

  before(async () => {
    env = await startEnv();
    await env.publish('keep-all', {}, { lowConfidence: 1, sampleRate: 0 });
    await env.publish('sample-all', {}, { lowConfidence: 0, sampleRate: 1 });
    await env.rollout({ stable: 'keep-all' });
  });
  after(() => env?.close());
  beforeEach(() => {
    env.server.fault = null;
  });

  async function start(
    context: BrowserContext,
    outbox: Record<string, number> = FAST,
    extra: Record<string, unknown> = {},
  ): Promise<Page> {
    const page = await env.open(context);
    await page.evaluate(
      (opts) => window.kit.create('rt', opts),
      env.options({ engine: 'ort-wasm', pollIntervalMs: 0, statsWindowMs: 3_600_000, outbox, ...extra }),
    );
    return page;
  }
  const predict = (page: Page, xs: number[][]) =>
    page.evaluate((xs) => window.kit.predictAll('rt', xs).then((ps) => ps.map((p) => p.id)), xs);
  const status = (page: Page) => page.evaluate(() => window.kit.rts.rt!.status());
  /** Every event that reached the collector through the app origin, parsed from the forwarded bodies. */
  const posted = (): Posted[] =>
    env.server
      .eventPosts()
      .filter((r) => r.outcome === '200')
      .flatMap((r) => (JSON.parse(r.body.toString('utf8')) as { events: Posted[] }).events);

  test('one poison event is refused alone; the events around it arrive', async () => {
    const page = await start(await env.context());
    const ids = await predict(page, x.slice(0, 5));
    await page.evaluate(async (ids) => {
      const rt = window.kit.rts.rt!;
      await rt.reportWrongResult(ids[0]!, '3', { comment: 'x'.repeat(2001) }); // over the 2,000-character limit
      await rt.reportWrongResult(ids[1]!, '4', { comment: 'fine' });
    }, ids);
    await page.evaluate(() => window.kit.rts.rt!.flush());
    await waitFor('the poison event dropped', async () => (await status(page)).outbox.dropped === 1);
    const got = posted();
    for (const id of ids) assert.ok(await env.collector.storage.events.get(id), `prediction ${id} missing`);
    const corrections = got.filter((e) => e.type === 'correction' && ids.includes(e.predictionId!));
    assert.equal(corrections.length, 2, 'both corrections were sent');
    const stored = await Promise.all(corrections.map((c) => env.collector.storage.events.get(c.id)));
    assert.deepEqual(
      stored.map((s) => Boolean(s)),
      [false, true],
    );
    assert.equal((await status(page)).outbox.pending, 0);
  });

  test('past its bound the queue drops the oldest sampled events first, never corrections, and reports the count', async () => {
    await env.rollout({ stable: 'sample-all' });
    try {
      const context = await env.context();
      const page = await start(context, { ...FAST, maxEvents: 25 });
      env.server.fault = (r) => (r.ids.length ? DOWN : undefined);
      const reported = await predict(page, x.slice(0, 5));
      await page.evaluate(async (ids) => {
        for (const id of ids) await window.kit.rts.rt!.reportWrongResult(id, '1');
      }, reported);
      const sampled = await predict(page, x.slice(5, 35));
      await waitFor('the bound reached', async () => (await status(page)).outbox.dropped === 15);
      assert.equal((await status(page)).outbox.pending, 25);
      env.server.fault = null;
      await page.evaluate(() => window.kit.rts.rt!.flush());
      await waitFor('an empty outbox', async () => (await status(page)).outbox.pending === 0);
      const got = posted();
      const byId = new Map(got.map((e) => [e.id, e]));
      for (const id of reported) assert.equal(byId.get(id)?.reason, 'reported', `reported prediction ${id}`);
      assert.equal(got.filter((e) => e.type === 'correction' && reported.includes(e.predictionId!)).length, 5);
      assert.deepEqual(
        sampled.map((id) => byId.has(id)),
        [...Array(15).fill(false), ...Array(15).fill(true)],
        'not the oldest samples dropped',
      );
      // The stats window closes at dispose with the drop count; the next start delivers it.
      await page.evaluate(() => window.kit.dispose('rt'));
      const next = await start(context, { ...FAST, maxEvents: 25 });
      await next.evaluate(() => window.kit.rts.rt!.flush());
      const stats = await waitFor('the stats event with the drops', () =>
        posted().find((e) => e.type === 'stats' && (e.dropped ?? 0) > 0),
      );
      assert.equal(stats.dropped, 15);
    } finally {
      await env.rollout({ stable: 'keep-all' });
    }
  });

  test('quota exceeded never reaches the app; the queue stays bounded and drops are counted', async () => {
    const context = await env.context();
    const blank = await context.newPage();
    await blank.goto(`${env.server.url}/blank.html`);
    const origin = new URL(env.server.url).origin;
    const cdp = await context.newCDPSession(blank);
    // The quota is read when the origin first opens its storage, so it is set before the app starts: room for the
    // model in the Cache API and some events, not for hundreds of events with their inputs (4.7 KB each).
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 380_000 });
    const page = await start(context, FAST, { statsWindowMs: 1000 });
    env.server.fault = (r) => (r.ids.length ? DOWN : undefined);
    const ids: string[] = [];
    // Keep logging until the origin runs out of room (how much fits depends on how IndexedDB packs its files).
    for (let round = 0; round < 10 && (await status(page)).outbox.dropped === 0; round++) {
      ids.push(...(await predict(page, x.slice(0, 30))));
      await sleep(200);
    }
    // Making room is two transactions (evict, then store again): between them the queue reads empty.
    const s = await waitFor(
      'the queue to hold what fits',
      async () => {
        const st = await status(page);
        return st.outbox.pending > 0 ? st : undefined;
      },
      5000,
    ).catch(async () => status(page));
    assert.ok(s.outbox.dropped > 0, `no drop after ${ids.length} events`);
    assert.ok(
      s.outbox.pending > 0 && s.outbox.pending < ids.length,
      `${s.outbox.pending} of ${ids.length} events stored under the quota: ${JSON.stringify(s.outbox)}`,
    );
    assert.deepEqual(env.errors, [], 'an error reached the page');
    await cdp.send('Storage.overrideQuotaForOrigin', { origin });
    env.server.fault = null;
    await page.evaluate(() => window.kit.rts.rt!.flush());
    const stats = await waitFor('a stats event with the drop count', () =>
      posted().find((e) => e.type === 'stats' && (e.dropped ?? 0) > 0),
    );
    assert.ok(stats.dropped! > 0);
    const later = await predict(page, x.slice(0, 5));
    await page.evaluate(() => window.kit.rts.rt!.flush());
    await waitFor('events logged after the quota was lifted', async () =>
      (await Promise.all(later.map((id) => env.collector.storage.events.get(id)))).every(Boolean),
    );
  });

  test('a lost IndexedDB connection is reopened and work continues', async () => {
    const context = await env.context();
    const page = await start(context);
    const cdp = await context.newCDPSession(page);
    env.server.fault = (r) => (r.ids.length ? DOWN : undefined);
    await predict(page, x.slice(0, 3));
    await waitFor('3 events stored', async () => (await status(page)).outbox.pending === 3);
    // What "Clear site data" does: the browser closes every connection to the origin's databases.
    await cdp.send('Storage.clearDataForOrigin', { origin: new URL(env.server.url).origin, storageTypes: 'indexeddb' });
    await sleep(100);
    const after = await predict(page, x.slice(3, 8));
    env.server.fault = null;
    await page.evaluate(() => window.kit.rts.rt!.flush());
    await waitFor('the events made after the loss', async () =>
      (await Promise.all(after.map((id) => env.collector.storage.events.get(id)))).every(Boolean),
    );
    assert.deepEqual(env.errors, []);
  });

  test('events older than maxAgeMs expire unsent and are counted', async () => {
    const page = await start(await env.context(), { ...FAST, maxAgeMs: 300 });
    env.server.fault = (r) => (r.ids.length ? DOWN : undefined);
    const ids = await predict(page, x.slice(0, 3));
    await waitFor('3 events stored', async () => (await status(page)).outbox.pending === 3);
    await sleep(400);
    env.server.fault = null;
    await page.evaluate(() => window.kit.rts.rt!.flush());
    const s = await waitFor('an empty outbox', async () => {
      const st = await status(page);
      return st.outbox.pending === 0 ? st : null;
    });
    assert.ok(s.outbox.dropped >= 3);
    for (const id of ids) assert.equal(await env.collector.storage.events.get(id), undefined);
  });
});
