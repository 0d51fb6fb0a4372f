/**
 * The demo page as a person uses it, in real headless Chromium against a real collector (SQLite, port 0) serving
 * the trainer's committed digits model: it predicts once the drawing pauses (not per stroke) and shows the
 * confidence as a percent; "Report wrong result" never takes the label the model gave, and says "queued, will be
 * sent" until the collector has acknowledged the upload, then "sent"; Clear resets everything; the Events list
 * tells of reports, uploads, a new version and the swap to it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { buildApp, type App } from '@edgeloop/collector';
import type { Runtime } from '@edgeloop/runtime';
import { bucketOf, inCanary, type MetricsReport } from '@edgeloop/protocol';
import { launchBrowser } from '../../packages/runtime/test/helpers/browser.js';
import { digitsFixture, variant, type VersionFiles } from '../../packages/runtime/test/helpers/fixture.js';
import { waitFor } from '../../packages/runtime/test/helpers/wait.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const KEYS = {
  admin: 'demo-test-admin-key-0123456789',
  trainer: 'demo-test-trainer-key-0123456789',
  ingest: 'demo-test-ingest-key-0123456789',
} as const;
/**
 * A pause long enough that two strokes drawn one after the other by the test always fall inside it, however
 * loaded the machine: the page must then predict once, for both.
 */
const PREDICT_AFTER_MS = 3000;

let dir: string;
let app: App;
let collector: string;
let demo: PreviewServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;

/** Where the tests put their pictures (the admin console's tests write theirs there too); the README shows them. */
const SHOTS = join(root, 'docs', 'screenshots');
/** The simulated devices' ids: `test-sim-1` … (the page takes the prefix from `?simPrefix=`). */
const SIM_PREFIX = 'test-sim';
const SIM_USERS = 6;

interface SimTally {
  predictions: number;
  wrong: number;
  reported: number;
}
/** The demo puts its runtime on `globalThis.edgeloop` and the simulate-users panel on `globalThis.simulation`. */
type Demo = {
  edgeloop?: Runtime;
  simulation?: {
    fleet(): {
      devices(): { id: string; bucket: number; version: string | null; channel: string | null }[];
      versions(): Record<string, SimTally>;
      windows(): unknown[];
      errors(): string[];
      stop(): Promise<void>;
      flush(): Promise<void>;
    } | null;
  };
  reloaded?: boolean;
};

async function publish(version: string, files: Required<VersionFiles> | null = null): Promise<void> {
  const f = digitsFixture();
  const form = new FormData();
  form.append(
    'meta',
    JSON.stringify({
      version,
      parent: null,
      batches: [],
      metrics: {},
      labels: f.labels,
      input: f.input,
      policy: { lowConfidence: 0.6, sampleRate: 0 },
      trainer: { test: true },
      codeVersion: 'demo-test',
    }),
  );
  form.append('onnx', new Blob([(files?.onnx ?? f.onnx) as Uint8Array<ArrayBuffer>]), 'model.onnx');
  form.append('tfjs-layers', new Blob([(files?.modelJson ?? f.modelJson) as Uint8Array<ArrayBuffer>]), 'model.json');
  form.append('tfjs-layers', new Blob([(files?.weights ?? f.weights) as Uint8Array<ArrayBuffer>]), 'weights.bin');
  const res = await fetch(`${collector}/v1/models/digits/versions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEYS.trainer}` },
    body: form,
  });
  assert.equal(res.status, 201, await res.text());
}

/** Draws one stroke on the pad, from and to points in pad pixels (280 × 280). */
async function stroke(from: [number, number], to: [number, number]): Promise<void> {
  const pad = (await page.locator('#pad').boundingBox())!;
  await page.mouse.move(pad.x + from[0], pad.y + from[1]);
  await page.mouse.down();
  await page.mouse.move(pad.x + to[0], pad.y + to[1], { steps: 8 });
  await page.mouse.up();
}

const events = async () => (await page.locator('#log li').allTextContents()).join('\n');
const corrections = () => app.storage.events.count({ model: 'digits', type: 'correction' });

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'edgeloop-demo-'));
  app = await buildApp({ dataDir: dir, seedKeys: KEYS, controller: false, rateLimit: false });
  collector = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
  await publish('v1');

  const outDir = join(dir, 'demo');
  await build({ root: join(root, 'demo'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  demo = await preview({
    root: join(root, 'demo'),
    logLevel: 'warn',
    build: { outDir },
    preview: { host: 'localhost', port: 0 },
  });
  browser = await launchBrowser();
  context = await browser.newContext();
  page = await context.newPage();
  const url = new URL(demo.resolvedUrls!.local[0]!);
  url.search = new URLSearchParams({
    collector,
    key: KEYS.ingest,
    predictAfterMs: String(PREDICT_AFTER_MS),
    // The page's own manifest polls off: the tests' `update()` and `joinCanary()` are the polls that find versions.
    pollMs: '0',
    simPrefix: SIM_PREFIX,
    // Short stats windows, so the collector counts the simulated predictions soon after they are made.
    simStatsMs: '1000',
    simPollMs: '1000',
    simWindowMs: '1000',
  }).toString();
  await page.goto(url.href);
  await page.waitForFunction(() => (globalThis as Demo).edgeloop?.status().version === 'v1', null, {
    timeout: 120_000,
  });
});

after(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (demo ? demo.httpServer.close(() => resolve()) : resolve()));
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('predicts once when the drawing pauses, not at the end of each stroke, and shows the confidence as a percent', async () => {
  const before = await page.evaluate(() => (globalThis as Demo).edgeloop!.status().predictions);
  // A "4": two strokes, the second begun well inside the pause.
  await stroke([90, 40], [90, 170]);
  await stroke([60, 170], [210, 170]);
  await page.waitForFunction(() => document.querySelector('#label')?.textContent !== '–');
  // Predictions run in order: once this one is answered, any the strokes started are answered too.
  await page.evaluate(() => (globalThis as Demo).edgeloop!.predict(new Float32Array(28 * 28)));
  const after = await page.evaluate(() => (globalThis as Demo).edgeloop!.status().predictions);
  assert.equal(after - before, 2, 'one prediction for the drawing, one by the test');

  assert.match((await page.textContent('#label'))!, /^[0-9]$/);
  const pct = await page.getAttribute('#confidence', 'aria-valuenow');
  assert.match(pct ?? '', /^\d{1,3}$/);
  assert.equal(await page.textContent('#confidence-text'), `${pct} %`, 'the percent beside the bar');
  assert.equal(await page.locator('#topk li').count(), 3);
  assert.equal(await page.locator('edgeloop-report button[part=button]').isDisabled(), false);
});

test('"Report wrong result" refuses the predicted label, says queued until the collector acknowledges, then sent', async () => {
  const predicted = (await page.textContent('#label'))!;
  await page.locator('edgeloop-report button[part=button]').click();
  const offered = await page
    .locator('edgeloop-report select option')
    .evaluateAll((os) =>
      os.filter((o) => !(o as HTMLOptionElement).disabled).map((o) => (o as HTMLOptionElement).value),
    );
  assert.equal(offered.length, 9);
  assert.ok(!offered.includes(predicted), `the predicted ${predicted} is not offered`);
  // Nor is it taken when named anyway.
  const refused = await page.evaluate(async (label) => {
    const el = document.querySelector('edgeloop-report') as HTMLElement & {
      runtime: { reportWrongResult(id: string, label: string): Promise<void> };
    };
    return el.runtime.reportWrongResult(el.getAttribute('prediction-id')!, label).then(
      () => 'stored',
      (e: Error) => e.message,
    );
  }, predicted);
  assert.match(refused, /is what the model predicted/);

  // Offline, nothing can be acknowledged: the report stays "queued".
  await context.setOffline(true);
  const label = offered[0]!;
  await page.locator('edgeloop-report select').selectOption(label);
  await page.locator('edgeloop-report button[part=submit]').click();
  await page.locator('#report-state[data-state=queued]').waitFor();
  assert.equal(await page.textContent('#report-state'), `Report “${label}” queued, will be sent.`);
  assert.match(await events(), new RegExp(`reported \\S+ as “${label}”: queued, will be sent`));
  assert.equal(await corrections(), 0, 'not at the collector yet');
  assert.ok((await page.evaluate(() => (globalThis as Demo).edgeloop!.status().outbox.pending)) > 0);

  await context.setOffline(false);
  await page.evaluate(() => (globalThis as Demo).edgeloop!.flush());
  await page.locator('#report-state[data-state=sent]').waitFor({ timeout: 60_000 });
  assert.equal(await page.textContent('#report-state'), `Report “${label}” sent.`);
  assert.equal(await corrections(), 1, 'the collector has it');
  const log = await events();
  assert.match(log, /uploaded \d+ event\(s\): the collector acknowledged them/);
  assert.match(log, new RegExp(`report “${label}” sent`));
});

test('Clear resets the drawing, the prediction, the confidence, the top 3 and the report control', async () => {
  await page.click('#clear');
  assert.equal(await page.textContent('#label'), '–');
  assert.equal(await page.textContent('#confidence-text'), '');
  assert.equal(await page.getAttribute('#confidence', 'aria-valuenow'), null);
  assert.equal(await page.locator('#confidence span').evaluate((s) => (s as HTMLElement).style.width), '0px');
  assert.equal(await page.locator('#topk li').count(), 0);
  assert.equal(await page.textContent('#report-state'), '');
  const report = page.locator('edgeloop-report');
  assert.equal(await report.getAttribute('disabled'), '');
  assert.equal(await report.getAttribute('prediction-id'), null);
  assert.equal(await page.locator('edgeloop-report button[part=button]').isDisabled(), true);
  const opacity = Number(await report.evaluate((el) => getComputedStyle(el).opacity));
  assert.ok(opacity < 1, `visibly disabled (opacity ${opacity})`);
  const blank = await page.locator('#pad').evaluate((c) => {
    const d = (c as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, 280, 280).data;
    return d.every((v, i) => i % 4 === 3 || v === 0);
  });
  assert.ok(blank, 'the pad is black again');
});

test('the Events list tells of a new version and of the swap to it', async () => {
  await publish('v2', variant(1));
  const r = await fetch(`${collector}/v1/models/digits/rollout`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${KEYS.trainer}`, 'content-type': 'application/json' },
    body: JSON.stringify({ stable: 'v2', canary: null, canaryPercent: 0 }),
  });
  assert.equal(r.status, 200, await r.text());
  assert.equal(await page.evaluate(() => (globalThis as Demo).edgeloop!.update()), true);
  await page.locator('#log li', { hasText: 'swapped v1 → v2' }).waitFor();
  const log = await events();
  assert.match(log, /new version available: v2 \(stable\)/);
  assert.match(log, /loaded v1 \(stable/);
});

async function rollout(body: object): Promise<void> {
  const r = await fetch(`${collector}/v1/models/digits/rollout`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${KEYS.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(r.status, 200, await r.text());
}

const status = () => page.evaluate(() => (globalThis as Demo).edgeloop!.status());

test("shows the device's bucket; joining the canary hot-swaps to it without a reload, and is remembered", async () => {
  await publish('v3', variant(2));
  // At 0 % no device gets the canary by its bucket: only one that joins it.
  await rollout({ stable: 'v2', canary: 'v3', canaryPercent: 0 });
  const s = await status();
  assert.deepEqual([s.version, s.joinedCanary], ['v2', false]);
  const bucket = bucketOf('digits', s.deviceId);
  assert.match((await page.textContent('#bucket'))!, new RegExp(`^Bucket ${bucket} of 10,000`));
  assert.match((await page.textContent('#canary-state'))!, /Assigned by bucket: running v2 \(stable\)/);

  // Marks this document: a reload would lose the mark.
  await page.evaluate(() => ((globalThis as Demo).reloaded = false));
  await page.check('#join-canary');
  await page.locator('#log li', { hasText: 'joined the canary: running v3 (canary)' }).waitFor();
  assert.deepEqual(await status().then((x) => [x.version, x.channel, x.joinedCanary]), ['v3', 'canary', true]);
  assert.equal(await page.evaluate(() => (globalThis as Demo).reloaded), false, 'the same document: no reload');
  assert.match(await events(), /swapped v2 → v3 \(canary/);
  assert.match((await page.textContent('#canary-state'))!, /Joined: running the canary v3/);

  // Remembered on the device: after a reload the switch is on and the canary serves at once.
  await page.reload();
  await page.waitForFunction(() => (globalThis as Demo).edgeloop?.status().version === 'v3', null, {
    timeout: 120_000,
  });
  assert.equal(await page.isChecked('#join-canary'), true);

  await page.uncheck('#join-canary');
  await page.locator('#log li', { hasText: 'left the canary: running v2 (stable)' }).waitFor();
  assert.deepEqual(await status().then((x) => [x.version, x.joinedCanary]), ['v2', false]);
});

test('simulated users send real events the collector stores (counted on both sides) and show their versions', async () => {
  // A percent that splits the simulated devices: the lower half of their buckets get the canary.
  const ids = Array.from({ length: SIM_USERS }, (_, i) => `${SIM_PREFIX}-${i + 1}`);
  const buckets = ids.map((d) => bucketOf('digits', d)).sort((a, b) => a - b);
  const percent = (buckets[SIM_USERS / 2 - 1]! + 1) / 100;
  await rollout({ stable: 'v2', canary: 'v3', canaryPercent: percent });
  const expected = Object.fromEntries(ids.map((d) => [d, inCanary('digits', d, percent) ? 'v3' : 'v2']));
  const since = Date.now();
  const correctionsBefore = await corrections();

  await page.fill('#sim-users', String(SIM_USERS));
  await page.selectOption('#sim-style', 'rotated');
  await page.fill('#sim-report', '100');
  await page.selectOption('#sim-pace', '500');
  await page.click('#sim-start');
  await page.locator('#sim-start', { hasText: 'Stop' }).waitFor({ timeout: 120_000 });
  // Enough reports on both channels, and a few points on the chart.
  await page.waitForFunction(
    () => {
      const v = (globalThis as Demo).simulation!.fleet()!.versions();
      const points = (globalThis as Demo).simulation!.fleet()!.windows().length;
      return (v.v2?.reported ?? 0) >= 5 && (v.v3?.reported ?? 0) >= 5 && points >= 8;
    },
    null,
    { timeout: 120_000 },
  );
  await page.screenshot({ path: join(SHOTS, 'demo.png'), fullPage: true });
  await page.click('#sim-start');
  await page.locator('#sim-start', { hasText: 'Start' }).waitFor();

  // Every device shows the version the bucketing gives it.
  const tiles = await page
    .locator('#sim-devices li')
    .evaluateAll((lis) => lis.map((li) => [(li as HTMLElement).dataset.device, li.querySelector('b')!.textContent]));
  assert.deepEqual(Object.fromEntries(tiles), expected);
  const channels = await page
    .locator('#sim-devices li')
    .evaluateAll((lis) => lis.map((li) => (li as HTMLElement).dataset.channel));
  assert.deepEqual(channels.sort(), [...Array(SIM_USERS / 2).fill('canary'), ...Array(SIM_USERS / 2).fill('stable')]);
  assert.match(
    (await page.textContent('#sim-summary'))!,
    new RegExp(
      `${SIM_USERS / 2} on v3 \\(canary\\), ${SIM_USERS / 2} on v2 \\(stable\\)|${SIM_USERS / 2} on v2 \\(stable\\), ${SIM_USERS / 2} on v3 \\(canary\\)`,
    ),
  );
  assert.ok((await page.locator('#sim-chart path.series.canary').getAttribute('d'))!.startsWith('M'), 'a canary line');

  // Counted on both sides: once every stats window has closed and the outbox is empty, the collector has every
  // prediction (in the stats events) and every report the fleet made, per version.
  await new Promise((r) => setTimeout(r, 1500));
  const tally = await page.evaluate(async () => {
    const f = (globalThis as Demo).simulation!.fleet()!;
    await f.flush();
    return { versions: f.versions(), errors: f.errors() };
  });
  assert.deepEqual(tally.errors, []);
  const reported = Object.values(tally.versions).reduce((n, t) => n + t.reported, 0);
  await waitFor('every report stored', async () => (await corrections()) - correctionsBefore === reported, 60_000);
  const metrics = async () => {
    const r = await fetch(`${collector}/v1/models/digits/metrics?since=${since - 60_000}&bucket=3600`, {
      headers: { authorization: `Bearer ${KEYS.admin}` },
    });
    const m = (await r.json()) as MetricsReport;
    return Object.fromEntries(m.versions.map((v) => [v.version, v]));
  };
  await waitFor(
    'every prediction counted',
    async () => {
      const m = await metrics();
      return ['v2', 'v3'].every((v) => m[v]?.predictions === tally.versions[v]!.predictions);
    },
    60_000,
  );
  const m = await metrics();
  for (const v of ['v2', 'v3']) {
    assert.equal(m[v]!.predictions, tally.versions[v]!.predictions, `${v} predictions`);
    assert.equal(m[v]!.corrections, tally.versions[v]!.reported, `${v} corrections`);
  }
  assert.ok(statSync(join(SHOTS, 'demo.png')).size > 10_000, 'the screenshot was written');
});
