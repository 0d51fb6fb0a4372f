/**
 * Unload-time sends in a real browser: a page on another origin POSTs `text/plain` with the key in `?key=`
 * (fetch keepalive at pagehide, as the runtime's outbox does). That is a CORS "simple request", so the browser
 * sends no preflight and the events arrive. HTTP-level behaviour, so it runs on one store (SQLite).
 */
import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import type { App } from '@edgeloop/collector';
import { makeApp, KEYS } from './helpers/stores.js';
import { predictions } from './helpers/events.js';
import { launchChromium } from './helpers/admin-page.js';

describe('unload-time send from another origin', () => {
  let app: App;
  let close: () => Promise<void>;
  let page: Server;
  let browser: Browser;
  const methods: string[] = [];
  let collectorUrl = '';
  let pageUrl = '';

  before(async () => {
    ({ app, close } = await makeApp('sqlite'));
    await app.listen({ port: 0, host: '127.0.0.1' });
    app.server.on('request', (req) => methods.push(`${req.method} ${req.url?.split('?')[0]}`));
    collectorUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    page = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>app</title>'),
    );
    await new Promise<void>((r) => page.listen(0, '127.0.0.1', r));
    pageUrl = `http://localhost:${(page.address() as AddressInfo).port}/`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await new Promise((r) => page.close(r));
    await close();
  });

  test('a cross-origin text/plain POST with ?key= needs no preflight and is stored', async () => {
    const tab = await browser.newPage();
    await tab.goto(pageUrl);
    const events = predictions(5, { model: 'unload-fetch' });
    const result = await tab.evaluate(
      async ({ url, body }) => {
        const r = await fetch(url, {
          method: 'POST',
          keepalive: true,
          headers: { 'content-type': 'text/plain;charset=UTF-8' },
          body,
        });
        return { status: r.status, json: await r.json() };
      },
      { url: `${collectorUrl}/v1/events?key=${KEYS.ingest}`, body: JSON.stringify({ events }) },
    );
    assert.equal(result.status, 200);
    assert.deepEqual(result.json, { accepted: 5, duplicates: 0, rejected: [] });
    assert.equal(await app.storage.events.count({ model: 'unload-fetch' }), 5);
    assert.ok(!methods.some((m) => m.startsWith('OPTIONS')), `no preflight: ${methods.join(', ')}`);
    await tab.close();
  });

  test('events sent at pagehide with fetch keepalive arrive after the tab is closed', async () => {
    const tab = await browser.newPage();
    await tab.goto(pageUrl);
    const events = predictions(20, { model: 'unload-pagehide' });
    await tab.evaluate(
      ({ url, body }) => {
        (globalThis as unknown as { addEventListener(type: string, fn: () => void): void }).addEventListener(
          'pagehide',
          () => {
            void fetch(url, {
              method: 'POST',
              keepalive: true,
              headers: { 'content-type': 'text/plain;charset=UTF-8' },
              body,
            });
          },
        );
      },
      { url: `${collectorUrl}/v1/events?key=${KEYS.ingest}`, body: JSON.stringify({ events }) },
    );
    await tab.close({ runBeforeUnload: true });
    let stored = 0;
    for (let i = 0; i < 200 && stored < 20; i++) {
      stored = await app.storage.events.count({ model: 'unload-pagehide' });
      if (stored < 20) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(stored, 20, 'the keepalive send arrived');
    assert.ok(!methods.some((m) => m.startsWith('OPTIONS')), `no preflight: ${methods.join(', ')}`);
  });
});
