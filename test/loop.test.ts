/**
 * The whole loop, as `npm start` runs it: a real collector (SQLite), the trainer's CLI as child processes, the demo
 * page built by Vite in real headless Chromium. A person draws a digit and reports a wrong result through
 * `<edgeloop-report>`; the page and a fleet of other devices send thick-stroke digits with their true labels; the
 * trainer retrains, passes the gate and publishes v2 as a canary; the page hot-swaps to v2 between predictions.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { buildApp, type App } from '@edgeloop/collector';
import type { Runtime } from '@edgeloop/runtime';
import { loadMnist, pick, take, thicken, exampleSize } from '@edgeloop/trainer';
import { launchBrowser } from '../packages/runtime/test/helpers/browser.js';
import { sendCorrections } from '../packages/trainer/test/helpers/corrections.js';
import { KEYS } from '../packages/trainer/test/helpers/collector.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const trainerBin = join(root, 'packages/trainer/bin/edgeloop-trainer.js');

let dir: string;
let app: App;
let collector: string;
let demo: PreviewServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

/** Runs the trainer CLI to completion; resolves with its exit code and output. */
function trainer(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [trainerBin, ...args, '--model', 'digits', '--collector', collector, '--token', KEYS.trainer, '--backend', 'cpu'],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code: code ?? 1, out }));
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgeloop-loop-'));
  app = await buildApp({ dataDir: dir, seedKeys: KEYS, controller: false, rateLimit: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  collector = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  const outDir = join(dir, 'demo');
  await build({ root: join(root, 'demo'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  demo = await preview({
    root: join(root, 'demo'),
    logLevel: 'warn',
    build: { outDir },
    preview: { host: 'localhost', port: 0 },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => demo?.httpServer.close(() => resolve()));
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('bootstrap publishes digits v1 as stable', async () => {
  const r = await trainer(['bootstrap', '--examples', '3000', '--epochs', '2']);
  assert.equal(r.code, 0, r.out);
  const rollout = await (
    await fetch(`${collector}/v1/models/digits/rollout`, { headers: { authorization: `Bearer ${KEYS.admin}` } })
  ).json();
  assert.equal(rollout.stable, 'v1');
});

test('the demo page predicts on the device and takes a report through <edgeloop-report>', async () => {
  const context = await browser.newContext();
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const url = new URL(demo.resolvedUrls!.local[0]!);
  // Polling off (`pollMs=0`): the test's own `update()` is the poll that must find v2, not the page's timer.
  url.search = new URLSearchParams({ collector, key: KEYS.ingest, pollMs: '0' }).toString();
  await page.goto(url.href);
  await page.waitForFunction(
    () => (globalThis as unknown as { edgeloop: Runtime }).edgeloop?.status().version === 'v1',
    null,
    { timeout: 120_000 },
  );

  // Draw a vertical stroke: a "1".
  const pad = (await page.locator('#pad').boundingBox())!;
  await page.mouse.move(pad.x + 140, pad.y + 50);
  await page.mouse.down();
  await page.mouse.move(pad.x + 140, pad.y + 230, { steps: 15 });
  await page.mouse.up();
  await page.waitForFunction(() => document.querySelector('#label')?.textContent !== '–');
  assert.match((await page.textContent('#label'))!, /^[0-9]$/);

  // Say it was a 7 (a person's correction), through the element's own controls; the page never offers the label
  // the model gave, so a 1 if it said 7.
  const predicted = (await page.textContent('#label'))!;
  await page.locator('edgeloop-report button[part=button]').click();
  await page.locator('edgeloop-report select').selectOption(predicted === '7' ? '1' : '7');
  await page.locator('edgeloop-report button[part=submit]').click();
  await page.locator('edgeloop-report [part=status]', { hasText: 'recorded' }).waitFor();
  await page.evaluate(() => (globalThis as unknown as { edgeloop: Runtime }).edgeloop.flush());
  const corrections = await app.storage.events.count({ model: 'digits', type: 'correction' });
  assert.equal(corrections, 1);
  assert.deepEqual(pageErrors, []);
});

test('labels from the page and the fleet retrain digits; the page hot-swaps to the v2 canary', async () => {
  // Thick-stroke digits: the drift v1 was not trained on. 40 come from this page (one device), 400 from others.
  const thick = thicken(loadMnist('drift'), 2);
  const size = exampleSize(thick.shape);
  const fromPage = take(thick, 40);
  const pixels = Array.from(fromPage.x);
  const labels = Array.from(fromPage.y, (y) => fromPage.labels[y]!);
  const sent = await page.evaluate(
    async ({ pixels, labels, size }) => {
      const rt = (globalThis as unknown as { edgeloop: Runtime }).edgeloop;
      for (let i = 0; i < labels.length; i++) {
        const p = await rt.predict(new Float32Array(pixels.slice(i * size, (i + 1) * size)));
        await rt.reportWrongResult(p.id, labels[i]!);
      }
      await rt.flush();
      return rt.status().outbox.pending;
    },
    { pixels, labels, size },
  );
  assert.equal(sent, 0);
  const others = Array.from({ length: Math.min(400, thick.count - 40) }, (_, i) => 40 + i);
  await sendCorrections(collector, pick(thick, others));

  // Seeded like the trainer's own cycle tests: unseeded, the retrain's shuffle and replay sample change with the
  // clock, and on this small bootstrap (3,000 examples, 2 epochs) some draws miss one digit's recall gate.
  const r = await trainer(['train', '--canary-percent', '100', '--seed', '3', '--candidates', '2']);
  assert.equal(r.code, 0, r.out);
  const rollout = await (
    await fetch(`${collector}/v1/models/digits/rollout`, { headers: { authorization: `Bearer ${KEYS.admin}` } })
  ).json();
  assert.equal(rollout.canary, 'v2');

  // Predictions keep running while the page notices the new manifest and swaps between two of them.
  const result = await page.evaluate(async (size) => {
    const rt = (globalThis as unknown as { edgeloop: Runtime }).edgeloop;
    const input = new Float32Array(size);
    let failed = 0;
    let running = true;
    const loop = (async () => {
      while (running) await rt.predict(input).catch(() => failed++);
    })();
    const swapped = await rt.update();
    const after = await rt.predict(input);
    running = false;
    await loop;
    return {
      swapped,
      failed,
      version: after.version,
      channel: after.channel,
      log: document.querySelector('#log')!.textContent,
    };
  }, size);
  assert.deepEqual(
    { swapped: result.swapped, failed: result.failed, version: result.version, channel: result.channel },
    { swapped: true, failed: 0, version: 'v2', channel: 'canary' },
  );
  assert.match(result.log!, /v1 → v2/);
  assert.deepEqual(pageErrors, []);
});
