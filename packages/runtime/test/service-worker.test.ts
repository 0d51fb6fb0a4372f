// The service worker (registered through workbox-window): model artifacts served cache-first, and the outbox
// flushed by Background Sync after the tab is gone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, type Env } from './helpers/env.js';
import { digits } from './helpers/fixture.js';
import { sleep, waitFor } from './helpers/wait.js';

describe('service worker', () => {
  let env: Env;
  let sha: Record<string, string>;
  const { x } = digits(5);

  before(async () => {
    env = await startEnv();
    ({ sha } = await env.publish('v1', {}, { lowConfidence: 1, sampleRate: 0 }));
  });
  after(() => env?.close());

  test('serves artifacts from its cache when the collector is unreachable', async () => {
    const context = await env.context();
    const page = await env.open(context);
    await page.evaluate(
      async (opts) => {
        await window.kit.create('rt', opts);
        await navigator.serviceWorker.ready;
      },
      env.options({ engine: 'ort-wasm', pollIntervalMs: 0, serviceWorker: '/sw.js' }),
    );
    await waitFor('the page controlled', () => page.evaluate(() => Boolean(navigator.serviceWorker.controller)));
    env.server.fault = (r) => (r.path.startsWith('/v1/artifacts/') ? { kind: 'status', status: 404 } : undefined);
    try {
      const hex = await page.evaluate(async (sha) => {
        const res = await fetch(`/v1/artifacts/${sha}`, { headers: { authorization: 'Bearer x' } });
        const digest = await crypto.subtle.digest('SHA-256', await res.arrayBuffer());
        return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
      }, sha['model.onnx']!);
      assert.equal(hex, sha['model.onnx']);
    } finally {
      env.server.fault = null;
    }
  });

  test('flushes the outbox by Background Sync after the tab is gone', async () => {
    const context = await env.context();
    const page = await env.open(context);
    env.server.fault = (r) => (r.ids.length ? { kind: 'status', status: 503 } : undefined);
    await page.evaluate(
      async (opts) => {
        await window.kit.create('rt', opts);
        await navigator.serviceWorker.ready;
      },
      env.options({
        engine: 'ort-wasm',
        pollIntervalMs: 0,
        serviceWorker: '/sw.js',
        outbox: { flushIntervalMs: 50, baseDelayMs: 1000, maxDelayMs: 1000 },
      }),
    );
    const ids = await page.evaluate((x) => window.kit.predictAll('rt', x).then((ps) => ps.map((p) => p.id)), x);
    await waitFor('a failed send', () => page.evaluate(() => window.kit.rts.rt!.status().outbox.failures > 0));
    // Only the service worker is left; the collector is back.
    const blank = await context.newPage();
    await blank.goto(`${env.server.url}/blank.html`);
    await page.close();
    env.server.fault = null;
    const cdp = await context.newCDPSession(blank);
    const registrations: { registrationId: string; scopeURL: string }[] = [];
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => registrations.push(...e.registrations));
    await cdp.send('ServiceWorker.enable');
    const reg = await waitFor('the registration', () =>
      registrations.find((r) => r.scopeURL.startsWith(env.server.url)),
    );
    // The sync honours the outbox's backoff like any sender: let the retry delay pass first.
    await sleep(1600);
    await cdp.send('ServiceWorker.dispatchSyncEvent', {
      origin: new URL(env.server.url).origin,
      registrationId: reg.registrationId,
      tag: 'edgeloop-outbox',
      lastChance: false,
    });
    await waitFor('the events from the closed tab', async () =>
      (await Promise.all(ids.map((id) => env.collector.storage.events.get(id)))).every(Boolean),
    );
  });
});
