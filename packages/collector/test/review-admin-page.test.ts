/// <reference lib="dom" />
/**
 * The admin page in real headless Chromium on both stores: user text (labels, comments) renders as text, the
 * page works under its strict CSP, and a reviewer can label and freeze through it.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { App } from '@edgeloop/collector';
import { KEYS, makeApp, STORE_KINDS } from './helpers/stores.js';
import { correction, makeInput, MODEL, prediction, store } from './helpers/labels.js';
import { stats } from './helpers/release.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ADMIN_SRC = fileURLToPath(new URL('../src/admin/', import.meta.url));
const ADMIN_DIST = fileURLToPath(new URL('../admin-dist/', import.meta.url));

const XSS_PREDICTED = '<img src=x onerror="window.__xss=1">';
const XSS_LABEL = '<script>window.__xss=2</script>';
const XSS_COMMENT = '<img src=x onerror="window.__xss=3"><b>bold</b>';
const XSS_MAJORITY = '"><svg onload=window.__xss=4>';
const XSS_REVIEW = '<i onmouseover=window.__xss=5>7</i>';

declare global {
  interface Window {
    __xss?: number;
    __violations: string[];
  }
}

async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** No element made from user text, no script run by it, and no CSP violation by the page itself. */
async function assertInert(page: Page): Promise<void> {
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'no injected script ran');
  assert.equal(
    await page.evaluate(() => document.querySelectorAll('img, svg, b, i, script:not([src])').length),
    0,
    'no element came from user text',
  );
  assert.deepEqual(await page.evaluate(() => window.__violations), [], 'the page itself keeps to its CSP');
}

before(async () => {
  // The collector serves the built page; build it from source as `npm run build` would.
  await build({ root: ADMIN_SRC, logLevel: 'warn', build: { outDir: ADMIN_DIST, emptyOutDir: true } });
});

for (const kind of STORE_KINDS) {
  describe(`admin page (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    let browser: Browser;
    let page: Page;
    let base: string;
    const hostile = prediction({ seed: 1, reason: 'low_confidence', label: XSS_PREDICTED, confidence: 0.2 });
    const voted = prediction({ seed: 2, reason: 'reported' });

    before(async () => {
      ({ app, close } = await makeApp(kind));
      await store(
        app,
        hostile,
        voted,
        correction(hostile, XSS_LABEL, 'd1', XSS_COMMENT),
        correction(voted, XSS_MAJORITY, 'd1'),
        correction(voted, XSS_MAJORITY, 'd2'),
      );
      base = await app.listen({ port: 0, host: '127.0.0.1' });
      browser = await launch();
      const context = await browser.newContext();
      page = await context.newPage();
      await page.addInitScript(() => {
        window.__violations = [];
        document.addEventListener('securitypolicyviolation', (e) =>
          window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`),
        );
      });
    });
    after(async () => {
      await browser?.close();
      await close();
    });

    test('the page and its assets are sent with a strict CSP', async () => {
      const r = await app.inject({ method: 'GET', url: '/admin/' });
      assert.equal(r.statusCode, 200);
      const csp = String(r.headers['content-security-policy']);
      for (const directive of [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
      ]) {
        assert.ok(csp.includes(directive), `${directive} in ${csp}`);
      }
      assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'));
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      const asset = /src="(\/admin\/assets\/[^"]+\.js)"/.exec(r.body)?.[1];
      assert.ok(asset, 'the page loads its script from a file');
      const js = await app.inject({ method: 'GET', url: asset });
      assert.equal(js.statusCode, 200);
      assert.ok(js.headers['content-security-policy']);
      assert.equal((await app.inject({ method: 'GET', url: '/admin' })).statusCode, 301);
    });

    test('a stored XSS attempt in a label or comment is rendered as text', async () => {
      const res = await page.goto(`${base}/admin/#review:${MODEL}`);
      assert.ok(res?.headers()['content-security-policy']);
      await page.fill('input[name=key]', KEYS.admin);
      await page.click('button[type=submit]');
      const card = page.locator(`article[data-input-hash="${hostile.inputHash}"]`);
      await card.waitFor();
      const text = (await card.textContent()) ?? '';
      for (const s of [XSS_PREDICTED, XSS_LABEL, XSS_COMMENT]) assert.ok(text.includes(s), `shows ${s} literally`);
      assert.equal(await card.locator('canvas').count(), 1, 'the input is drawn');
      await assertInert(page);
    });

    test('a reviewer labels an input through the page and it leaves the queue', async () => {
      const card = page.locator(`article[data-input-hash="${hostile.inputHash}"]`);
      await card.locator('input[name=label]').fill(XSS_REVIEW);
      await card.locator('input[name=comment]').fill(XSS_COMMENT);
      await card.locator('button[type=submit]').click();
      await card.waitFor({ state: 'detached' });
      assert.match((await page.textContent('.status')) ?? '', /Labeled/);
      await assertInert(page);
    });

    test('freezing from the page lists the batch with user labels as text', async () => {
      await page.click('nav button[data-tab=batches]');
      await page.locator('button', { hasText: 'Freeze a batch now' }).click();
      await page.locator('table').waitFor();
      const text = (await page.textContent('table')) ?? '';
      assert.ok(text.includes(`${XSS_MAJORITY}: 1`), text);
      assert.ok(text.includes(`${XSS_REVIEW}: 1`), text);
      assert.equal(makeInput(1).inputHash, hostile.inputHash);
      await assertInert(page);
    });

    test('the metrics tab flags a version whose loop is blind, and only it', async () => {
      await app.storage.events.insert(
        [
          stats({
            model: MODEL,
            version: 'sure-of-all',
            predictions: 1200,
            lowConfidence: 0,
            confidenceHist: [0, 0, 0, 0, 0, 0, 0, 0, 0, 1200],
          }),
          stats({
            model: MODEL,
            version: 'healthy',
            predictions: 1200,
            lowConfidence: 80,
            confidenceHist: [0, 0, 0, 0, 20, 60, 120, 200, 300, 500],
          }),
        ],
        Date.now(),
      );
      await page.click('nav button[data-tab=metrics]');
      await page.locator('table code', { hasText: 'sure-of-all' }).waitFor();
      // Version → the last column (the blind-loop flag).
      const byVersion = new Map(
        await page.$$eval('table tr', (trs) =>
          trs.map(
            (tr) =>
              [tr.querySelector('code')?.textContent ?? '', tr.lastElementChild?.textContent ?? ''] as [string, string],
          ),
        ),
      );
      assert.match(byVersion.get('sure-of-all') ?? '', /^blind: no low-confidence prediction in 1200/);
      assert.equal(byVersion.get('healthy'), 'no');
      await assertInert(page);
    });

    test('a wrong key is sent back to the sign-in form', async () => {
      await page.evaluate(() => sessionStorage.setItem('edgeloop.adminKey', 'not-a-key'));
      await page.reload();
      await page.locator('input[name=key]').waitFor();
      assert.match((await page.textContent('.status')) ?? '', /refused/);
    });
  });
}
