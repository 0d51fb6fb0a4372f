/**
 * Real headless Chromium through playwright-core (no browser mocks). Each launch gets a fresh profile.
 * `webgpu: true` enables WebGPU on the SwiftShader software adapter (no GPU on these machines).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const BASE_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches Chromium; fails with a message saying how to get it when it is missing. */
export async function launchBrowser(opts: { webgpu?: boolean } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  const args = opts.webgpu
    ? [...BASE_FLAGS, '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan']
    : [...BASE_FLAGS, '--disable-gpu'];
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

/** Opens `url` and waits for the harness to be ready; page errors are collected in `errors`. */
export async function openHarness(
  context: BrowserContext,
  url: string,
  errors: string[] = [],
): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  page.on('pageerror', (err) => errors.push(err.message));
  if (process.env.EDGELOOP_TEST_CONSOLE) page.on('console', (m) => console.log(`[page] ${m.text()}`));
  await page.goto(url);
  await page.waitForFunction(() => window.harnessReady === true);
  return { page, errors };
}
