/// <reference lib="dom" />
/**
 * The admin console in real headless Chromium on both stores, over real data: the model list, the dashboard's
 * charts (drawn by uPlot from the metrics API) and its window switch, canary against stable with the
 * controller's decision, the versions' gate reports and lineage, and the rollout controls, each checked through
 * the API with its reason in the audit log. Hostile text from devices, trainers and people renders as text, and
 * the page keeps to its CSP. The SQLite run writes a screenshot of every view to docs/screenshots/.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { assertInert, buildAdminPage, launchChromium, watchedPage } from './helpers/admin-page.js';
import type { App } from '@edgeloop/collector';
import type { Event, GateReport, VersionMeta } from '@edgeloop/protocol';
import { KEYS, bearer, makeApp, STORE_KINDS } from './helpers/stores.js';
import { correction, freeze, prediction, store } from './helpers/labels.js';
import { publish, stats } from './helpers/release.js';
import { correction as correctionOf } from './helpers/events.js';

const SHOTS = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url));

const MODEL = 'digits';
const XSS_LABEL = '<img src=x onerror="window.__xss=1">';
const XSS_CHECK = '<script>window.__xss=2</script>golden.accuracy';
const XSS_CONFIG = '<svg onload=window.__xss=3>';
const XSS_REASON = '<b onmouseover=window.__xss=4>looks fine</b>';
const AUTO = { stepPercent: 10, maxPercent: 50, intervalSec: 300, minSamples: 100, maxCorrectionRateDelta: 0.02 };
const MIN = 60_000;

function gate(pass: boolean): GateReport {
  return {
    pass,
    metrics: [
      { name: XSS_CHECK, stable: 0.981, candidate: 0.984, threshold: 0.976, pass: true },
      { name: 'fresh.accuracy', stable: 0.62, candidate: 0.91, threshold: 0.63, pass: true },
      { name: 'val.loss', stable: null, candidate: 0.31, threshold: 0.5, pass },
    ],
    advice: ['more reviewed labels of "7" would help'],
    calibration: { temperature: 1.42, ece: { before: 0.061, after: 0.0213 }, fittedOn: 400, measuredOn: 1200 },
  };
}

before(buildAdminPage);

for (const kind of STORE_KINDS) {
  describe(`admin console (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    let browser: Browser;
    let page: Page;
    let base: string;
    let batchId = '';
    const shot = async (name: string) => {
      if (kind !== 'sqlite') return;
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: `${SHOTS}admin-${name}.png`, fullPage: true });
    };
    const rollout = async () =>
      (await app.inject({ method: 'GET', url: `/v1/models/${MODEL}/rollout`, headers: bearer(KEYS.admin) })).json();
    const audit = async () =>
      (
        await app.inject({
          method: 'GET',
          url: `/v1/models/${MODEL}/rollout/history?limit=1`,
          headers: bearer(KEYS.admin),
        })
      ).json().entries[0] as { action: string; actor: string; reason: string };
    /** Clicks a rollout button and waits for the rerendered tab's status line. */
    const act = async (button: string, reason: string, status: RegExp) => {
      await page.fill('input[name=reason]', reason);
      await page.click(`button[name=${button}]`);
      await page.locator('.status', { hasText: status }).waitFor();
    };

    before(async () => {
      ({ app, close } = await makeApp(kind));
      // A batch with a hostile label, trained into v2.
      const p = [1, 2, 3].map((seed) => prediction({ seed, reason: 'low_confidence' }));
      await store(app, ...p);
      await store(app, correction(p[0]!, XSS_LABEL, 'd1'), correction(p[1]!, '7', 'd1'), correction(p[2]!, '1', 'd2'));
      const frozen = await freeze(app);
      assert.equal(frozen.statusCode, 201, frozen.body);
      batchId = frozen.json().id;
      const versions: [string, Partial<VersionMeta>][] = [
        ['v1', { gate: gate(true) }],
        ['v2', { parent: 'v1', batches: [batchId], gate: gate(true), trainer: { recipe: XSS_CONFIG, epochs: 3 } }],
        ['v3', { parent: 'v2', gate: gate(false) }],
      ];
      for (const [version, over] of versions) {
        const r = await publish(app, MODEL, version, over);
        assert.equal(r.statusCode, 201, r.body);
      }
      const r = await app.inject({
        method: 'PUT',
        url: `/v1/models/${MODEL}/rollout`,
        headers: bearer(KEYS.trainer),
        payload: { stable: 'v1', canary: 'v2', canaryPercent: 10, auto: AUTO, reason: 'v2 passed the gate' },
      });
      assert.equal(r.statusCode, 200, r.body);
      // An hour of 5-minute device windows on both sides, and one window three days ago.
      const now = Date.now();
      for (let i = 0; i < 12; i++) {
        await app.storage.events.insert(
          [
            stats({ model: MODEL, version: 'v1', predictions: 900 + i * 10, corrections: 18, lowConfidence: 90 }),
            stats({ model: MODEL, version: 'v2', predictions: 100 + i, corrections: 1, lowConfidence: 6 }),
            // The correction the window counted, as its own event too (a runtime sends both).
            correctionOf('0190a0a0-0000-7000-8000-000000000000', '7', { version: 'v2' }),
          ],
          now - (11 - i) * 5 * MIN,
        );
      }
      // A day of hourly windows for stable, the canary's last six hours with fewer corrections.
      for (let hour = 2; hour <= 22; hour++) {
        const events: Event[] = [
          stats({
            model: MODEL,
            version: 'v1',
            predictions: 1500 + 40 * (hour % 5),
            corrections: 30,
            lowConfidence: 140,
          }),
        ];
        if (hour <= 6) {
          const corrections = 1 + (hour % 2);
          events.push(
            stats({ model: MODEL, version: 'v2', predictions: 150, corrections, lowConfidence: 9 }),
            ...Array.from({ length: corrections }, () =>
              correctionOf('0190a0a0-0000-7000-8000-000000000000', '7', { version: 'v2' }),
            ),
          );
        }
        await app.storage.events.insert(events, now - hour * 60 * MIN);
      }
      await app.storage.events.insert(
        [stats({ model: MODEL, version: 'v1', predictions: 5000, corrections: 50 })],
        now - 3 * 86_400_000,
      );
      // Corrections reported at once, their stats window still to come: counted apart, never over 100 %.
      await app.storage.events.insert(
        Array.from({ length: 3 }, () => correctionOf('0190a0a0-0000-7000-8000-000000000000', '7', { version: 'v2' })),
        now,
      );
      // A second model whose loop is blind: sure of everything, nothing low-confidence to learn from.
      assert.equal((await publish(app, 'letters', 'l1', { labels: ['a', 'b'] })).statusCode, 201);
      await app.storage.events.insert(
        [
          stats({
            model: 'letters',
            version: 'l1',
            predictions: 1200,
            lowConfidence: 0,
            confidenceHist: [0, 0, 0, 0, 0, 0, 0, 0, 0, 1200],
          }),
        ],
        now - 10 * MIN,
      );
      base = await app.listen({ port: 0, host: '127.0.0.1' });
      browser = await launchChromium();
      page = await watchedPage(browser, { viewport: { width: 1280, height: 900 } });
    });
    after(async () => {
      await browser?.close();
      await close();
    });

    test('the model list shows each model with its health, and the picker names the model opened', async () => {
      await page.goto(`${base}/admin/`);
      await page.fill('input[name=key]', KEYS.admin);
      await page.click('button[type=submit]');
      const row = page.locator('table tr', { has: page.locator(`a[data-model=${MODEL}]`) });
      await row.waitFor();
      const text = (await row.textContent()) ?? '';
      assert.match(text, /v1/);
      assert.match(text, /v2 at 10 %/);
      assert.match(text, /automatic/);
      assert.match(text, /ok/);
      const letters =
        (await page.locator('table tr', { has: page.locator('a[data-model=letters]') }).textContent()) ?? '';
      assert.match(letters, /blind loop: l1/);
      assert.match(letters, /manual/);
      await shot('models');
      await page.click(`a[data-model=${MODEL}]`);
      await page.locator('figure.chart').first().waitFor();
      assert.equal(await page.inputValue('select[name=model]'), MODEL, 'the model box names the open model');
      await assertInert(page);
    });

    test('the dashboard draws a chart per figure from the metrics, canary beside stable, with the decision', async () => {
      const figures = await page.$$eval('figure.chart', (fs) =>
        fs.map((f) => [(f as HTMLElement).dataset.figure, Number((f as HTMLElement).dataset.points)] as const),
      );
      assert.deepEqual(
        figures.map(([f]) => f),
        [
          'Predictions',
          'Correction rate',
          'Low-confidence rate',
          'Mean confidence',
          'Latency p50',
          'Latency p95',
          'Error rate',
          'Drift (label PSI vs stable)',
        ],
      );
      for (const [f, points] of figures) assert.ok(points > 2, `${f}: ${points} points`);
      // uPlot drew on its canvases: some pixel of the predictions chart is not blank.
      const inked = await page.$eval('figure.chart[data-figure=Predictions] canvas', (c) => {
        const ctx = (c as HTMLCanvasElement).getContext('2d')!;
        const { data } = ctx.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height);
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
        return n;
      });
      assert.ok(inked > 500, `${inked} pixels drawn`);
      const metrics = (
        await app.inject({
          method: 'GET',
          url: `/v1/models/${MODEL}/metrics?since=${Date.now() - 86_400_000}&bucket=900`,
          headers: bearer(KEYS.admin),
        })
      ).json();
      const canary = metrics.versions.find((v: { channel: string }) => v.channel === 'canary');
      const side = (await page.textContent('.side.canary')) ?? '';
      assert.match(side, new RegExp(`Predictions${canary.predictions}`));
      assert.match(side, /Correction rate\d+\.\d % \(\+3 awaiting stats\)/);
      assert.ok(canary.correctionRate <= 1);
      assert.match((await page.textContent('.side.stable')) ?? '', /Stable v1/);
      const decision = page.locator('.decision');
      assert.equal(await decision.getAttribute('data-state'), 'waiting');
      assert.match((await decision.textContent()) ?? '', /the controller will (step|hold|rollback|promote)/);
      await shot('dashboard');
      await assertInert(page);
    });

    test('switching the window asks for that window and redraws', async () => {
      const predictions = async () =>
        Number(/Predictions(\d+)/.exec((await page.textContent('.side.stable')) ?? '')?.[1]);
      const day = await predictions();
      await page.click('a[data-window="7d"]');
      await page.locator('a.active[data-window="7d"]').waitFor();
      await page.locator('figure.chart').first().waitFor();
      assert.match(page.url(), /#metrics:digits:7d$/);
      assert.equal(await predictions(), day + 5000, 'the window three days ago is in 7 d, not in 24 h');
      await page.click('a[data-window="1h"]');
      await page.locator('a.active[data-window="1h"]').waitFor();
      const points = Number(await page.getAttribute('figure.chart[data-figure=Predictions]', 'data-points'));
      assert.ok(points >= 12, `1 h in 1-minute buckets: ${points} points`);
      await assertInert(page);
    });

    test('versions show the full gate report, calibration, trainer config and lineage down to the events', async () => {
      await page.click('nav button[data-tab=versions]');
      const v2 = page.locator('details.version[data-version=v2]');
      await v2.waitFor();
      await v2.locator('summary').click();
      await v2.locator('.lineage table').waitFor();
      const rows = await v2
        .locator('.gate table tbody tr')
        .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
      assert.deepEqual(rows, [
        [XSS_CHECK, '0.9810', '0.9840', '0.9760', 'pass'],
        ['fresh.accuracy', '0.6200', '0.9100', '0.6300', 'pass'],
        ['val.loss', '—', '0.3100', '0.5000', 'pass'],
      ]);
      assert.match((await v2.locator('.calibration').textContent()) ?? '', /ECE 0\.0610 → 0\.0213/);
      assert.ok(((await v2.locator('.trainer-config').textContent()) ?? '').includes(XSS_CONFIG));
      const lineage = (
        await app.inject({ method: 'GET', url: `/v1/batches/${batchId}/lineage`, headers: bearer(KEYS.trainer) })
      ).json();
      const lineageRow = (await v2.locator('.lineage tbody tr').textContent()) ?? '';
      assert.ok(lineageRow.includes(batchId));
      assert.ok(lineageRow.includes(`${lineage.batch.counts.examples}${lineage.sources.length}`), lineageRow);
      assert.ok(lineage.sources.length > 0);
      const v3 = page.locator('details.version[data-version=v3]');
      assert.match((await v3.locator('summary').textContent()) ?? '', /gate failed/);
      await shot('versions');
      await assertInert(page);
    });

    test('batches show which version was trained on them and how many events they came from', async () => {
      await page.click('nav button[data-tab=batches]');
      // The versions view's lineage rows name the batch too: wait for the batches view itself.
      await page.getByRole('button', { name: 'Freeze a batch now' }).waitFor();
      const row = page.locator('tr', { has: page.locator('code', { hasText: batchId }) }).filter({ hasText: 'v2' });
      await row.waitFor();
      const cells = await row.locator('td').allTextContents();
      assert.ok(cells.includes('v2'), `the batch row names v2: ${cells.join(' | ')}`);
      assert.ok(cells.join(' ').includes(XSS_LABEL), `the hostile label shows as text: ${cells.join(' | ')}`);
      await shot('batches');
      await assertInert(page);
    });

    test('rollout controls change the rollout, each with a reason in the audit log', async () => {
      await page.click('nav button[data-tab=rollout]');
      await page.locator('button[name=promote]').waitFor();
      await shot('rollout');

      await page.fill('input[name=reason]', '');
      await page.click('button[name=promote]');
      await page.locator('.status.error', { hasText: /reason/ }).waitFor();
      assert.equal((await rollout()).canary, 'v2', 'nothing changes without a reason');

      await act('pause', 'investigating a ticket', /Paused/);
      assert.equal((await rollout()).auto.paused, true);
      const paused = await audit();
      assert.equal(paused.action, 'pause');
      assert.equal(paused.reason, 'investigating a ticket');
      assert.equal(await page.getAttribute('.decision', 'data-state'), 'paused');
      await act('resume', 'ticket closed', /Resumed/);
      assert.equal((await rollout()).auto.paused, undefined);

      await page.fill('input[name=percent]', '30');
      await act('set-percent', 'more traffic', /Percent set/);
      assert.equal((await rollout()).canaryPercent, 30);
      assert.equal((await audit()).action, 'percent');

      await page.selectOption('select[name=version]', 'v3');
      await page.fill('input[name=start-percent]', '5');
      await act('start', 'try v3', /Canary started/);
      assert.deepEqual(
        { ...(await rollout()), auto: null },
        { stable: 'v1', canary: 'v3', canaryPercent: 5, auto: null },
      );
      await act('rollback', XSS_REASON, /Rolled back/);
      assert.equal((await rollout()).canary, null);
      const rolledBack = await audit();
      assert.equal(rolledBack.action, 'rollback');
      assert.equal(rolledBack.actor, 'seed-admin');
      assert.equal(rolledBack.reason, XSS_REASON);

      await page.selectOption('select[name=version]', 'v2');
      await page.fill('input[name=start-percent]', '10');
      await act('start', 'v2 again', /Canary started/);
      await act('promote', 'canary beats stable on corrections', /Promoted/);
      const promoted = await rollout();
      assert.equal(promoted.stable, 'v2');
      assert.equal(promoted.canary, null);
      assert.equal((await audit()).reason, 'canary beats stable on corrections');
      assert.match((await page.textContent('p.now')) ?? '', /Automatic policy for the next canary/);
      assert.ok(((await page.textContent('.audit')) ?? '').includes(XSS_REASON), 'the reason shows as text');
      await assertInert(page);
    });

    test('the audit log filters by action and by text', async () => {
      const shown = async () => Number(await page.getAttribute('.audit p.count', 'data-shown'));
      const all = await shown();
      assert.ok(all >= 8, `${all} entries`);
      await page.selectOption('select[name=action]', 'pause');
      assert.equal(await shown(), 1);
      assert.match((await page.textContent('.audit tbody')) ?? '', /investigating a ticket/);
      assert.match((await page.textContent('.audit tbody td:last-child')) ?? '', /; auto paused$/);
      await page.selectOption('select[name=action]', '');
      await page.fill('input[name=filter]', 'looks fine');
      assert.equal(await shown(), 1);
      assert.ok(((await page.textContent('.audit tbody')) ?? '').includes(XSS_REASON));
      await page.fill('input[name=filter]', '');
      assert.equal(await shown(), all);
      await shot('audit');
      await assertInert(page);
    });

    test('after a wrong key, signing in with the right one clears the error on every tab', async () => {
      await page.click('button.link');
      await page.fill('input[name=key]', KEYS.trainer);
      await page.click('button[type=submit]');
      await page.locator('.status.error', { hasText: /not an admin key/ }).waitFor();
      await page.fill('input[name=key]', 'not-a-key');
      await page.click('button[type=submit]');
      await page.locator('.status.error', { hasText: /refused/ }).waitFor();
      await page.fill('input[name=key]', KEYS.admin);
      await page.click('button[type=submit]');
      await page.locator('nav').waitFor();
      for (const tab of ['metrics', 'versions', 'rollout', 'models']) {
        await page.click(`nav button[data-tab=${tab}]`);
        await page.locator('.content :is(table, figure, details, p.muted)').first().waitFor();
        assert.equal(((await page.textContent('.status')) ?? '').trim(), '', `${tab}: no stale error`);
      }
      await assertInert(page);
    });
  });
}
