/// <reference lib="dom" />
/**
 * For the collector's browser tests: builds the admin page from source as `npm run build` would (the collector
 * serves admin-dist), launches headless Chromium, and checks that user text stayed inert under the page's CSP.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ADMIN_SRC = fileURLToPath(new URL('../../src/admin/', import.meta.url));
const ADMIN_DIST = fileURLToPath(new URL('../../admin-dist/', import.meta.url));

declare global {
  interface Window {
    __xss?: number;
    __violations: string[];
  }
}

export async function buildAdminPage(): Promise<void> {
  await build({ root: ADMIN_SRC, logLevel: 'warn', build: { outDir: ADMIN_DIST, emptyOutDir: true } });
}

export async function launchChromium(): Promise<Browser> {
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

/**
 * No script ran from user text (`window.__xss` stays unset), no element of the `hostile` kinds came from it, and the
 * page itself broke no CSP rule (the test collects `securitypolicyviolation` events in `window.__violations`).
 */
export async function assertInert(page: Page, hostile = 'img, svg, b, script:not([src])'): Promise<void> {
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'no injected script ran');
  assert.equal(
    await page.evaluate((selector) => document.querySelectorAll(selector).length, hostile),
    0,
    'no element came from user text',
  );
  assert.deepEqual(await page.evaluate(() => window.__violations), [], 'the page keeps to its CSP');
}

/** A page in a new context that records every CSP violation in `window.__violations` (see assertInert). */
export async function watchedPage(browser: Browser, options: BrowserContextOptions = {}): Promise<Page> {
  const page = await (await browser.newContext(options)).newPage();
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  return page;
}
