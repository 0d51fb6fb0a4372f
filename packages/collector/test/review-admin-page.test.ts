/// <reference lib="dom" />
/**
 * The admin page in real headless Chromium on both stores: user text (labels, comments) renders as text, the
 * page works under its strict CSP, and a reviewer works through the queue with the model's labels only (buttons
 * and one key each), skips, undoes the last label (the stored review goes) and freezes through it.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { assertInert, buildAdminPage, launchChromium, watchedPage } from './helpers/admin-page.js';
import type { App } from '@edgeloop/collector';
import { KEYS, makeApp, STORE_KINDS } from './helpers/stores.js';
import { correction, makeInput, MODEL, prediction, store } from './helpers/labels.js';
import { publish, stats } from './helpers/release.js';

/** What user text in these tests would make, were it not escaped. */
const HOSTILE = 'img, svg, b, i, script:not([src])';
const XSS_PREDICTED = '<img src=x onerror="window.__xss=1">';
const XSS_LABEL = '<script>window.__xss=2</script>';
const XSS_COMMENT = '<img src=x onerror="window.__xss=3"><b>bold</b>';
const XSS_MAJORITY = '"><svg onload=window.__xss=4>';
const XSS_REVIEW = '<i onmouseover=window.__xss=5>7</i>';
/** The model's labels: one-character labels are their own keys, the others take 1, 2… in order. */
const LABELS = ['7', 'x', XSS_REVIEW, 'bird'];
const KEYS_SHOWN = ['7', 'x', '1', '2'];

before(buildAdminPage);

for (const kind of STORE_KINDS) {
  describe(`admin page (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    let browser: Browser;
    let page: Page;
    let base: string;
    const hostile = prediction({ seed: 1, reason: 'low_confidence', label: XSS_PREDICTED, confidence: 0.2 });
    const voted = prediction({ seed: 2, reason: 'reported' });
    const [p10, p11, p12] = [10, 11, 12].map((seed) => prediction({ seed, reason: 'low_confidence' }));
    const queued = async (model = MODEL) =>
      (await app.storage.labels.queue(model, { limit: 50, offset: 0 })).items.map((i) => i.inputHash);

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
      await store(app, p10!);
      await store(app, p11!);
      await store(app, p12!);
      const published = await publish(app, MODEL, 'v1', { labels: LABELS });
      assert.equal(published.statusCode, 201, published.body);
      base = await app.listen({ port: 0, host: '127.0.0.1' });
      browser = await launchChromium();
      page = await watchedPage(browser);
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
      await assertInert(page, HOSTILE);
    });

    test("labels are offered only as the model's labels, buttons with one key each, and the count left is shown", async () => {
      const card = page.locator(`article.current[data-input-hash="${hostile.inputHash}"]`);
      await card.waitFor();
      assert.equal(await page.locator('input[name=label]').count(), 0, 'no free-text label');
      const buttons = card.locator('button.label-button');
      assert.deepEqual(await buttons.evaluateAll((bs) => bs.map((b) => (b as HTMLElement).dataset.label)), LABELS);
      assert.deepEqual(await buttons.locator('.label-text').allTextContents(), LABELS, 'label text shown as text');
      assert.deepEqual(await buttons.locator('kbd').allTextContents(), KEYS_SHOWN);
      assert.equal(await page.getAttribute('p.left', 'data-left'), '4');
      assert.match((await page.textContent('p.left')) ?? '', /^4 left to review/);
      assert.equal(await page.locator('button.undo').isDisabled(), true, 'nothing to undo yet');
      await assertInert(page, HOSTILE);
    });

    test('one key labels the current input, → skips it, Backspace undoes the last label and the review is gone', async () => {
      await page.keyboard.press('ArrowRight');
      await page.locator(`article.current[data-input-hash="${p10!.inputHash}"]`).waitFor();
      assert.equal(
        await page.locator('article.card').last().getAttribute('data-input-hash'),
        hostile.inputHash,
        'a skipped input goes last',
      );
      await page.keyboard.press('2'); // "bird", the second label without a key of its own
      await page.locator(`article[data-input-hash="${p10!.inputHash}"]`).waitFor({ state: 'detached' });
      await page.locator('p.left[data-left="3"]').waitFor();
      assert.match((await page.textContent('.status')) ?? '', /as “bird”/);
      assert.ok(!(await queued()).includes(p10!.inputHash), 'the label is stored');
      await page.locator(`article.current[data-input-hash="${p11!.inputHash}"]`).waitFor();

      await page.keyboard.press('Backspace');
      await page.locator(`article.current[data-input-hash="${p10!.inputHash}"]`).waitFor();
      await page.locator('p.left[data-left="4"]').waitFor();
      assert.match((await page.textContent('.status')) ?? '', /Undid the label “bird”/);
      assert.ok((await queued()).includes(p10!.inputHash), 'the stored label was removed: back in the queue');
      assert.equal(await page.locator('button.undo').isDisabled(), true);

      // Typing a comment labels nothing; the key then labels the current input with that comment.
      const comment = page.locator('article.current input[name=comment]');
      await comment.fill('x7');
      await comment.press('x');
      assert.equal(await page.getAttribute('p.left', 'data-left'), '4');
      await comment.evaluate((el) => (el as HTMLInputElement).blur());
      await page.keyboard.press('x');
      await page.locator(`article[data-input-hash="${p10!.inputHash}"]`).waitFor({ state: 'detached' });
      await page.locator('p.left[data-left="3"]').waitFor();
      const batchless = await app.inject({
        method: 'GET',
        url: `/v1/models/${MODEL}/labels/pending`,
        headers: { authorization: `Bearer ${KEYS.trainer}` },
      });
      assert.equal(batchless.json().counts.reviewed, 1, 'one review stands: "x", not the undone "bird"');
      await assertInert(page, HOSTILE);
    });

    test('a reviewer labels an input by its button, with a comment, and it leaves the queue', async () => {
      const card = page.locator(`article[data-input-hash="${hostile.inputHash}"]`);
      await card.locator('input[name=comment]').fill(XSS_COMMENT);
      await card.locator(`button.label-button:nth-child(${LABELS.indexOf(XSS_REVIEW) + 1})`).click();
      await card.waitFor({ state: 'detached' });
      assert.match((await page.textContent('.status')) ?? '', /Labeled/);
      await page.locator('p.left[data-left="2"]').waitFor();
      await assertInert(page, HOSTILE);
    });

    test('a model with no version has no labels to give', async () => {
      const orphan = prediction({ seed: 20, reason: 'low_confidence', model: 'unpublished' });
      await store(app, orphan);
      await page.goto(`${base}/admin/#review:unpublished`);
      await page.locator(`article[data-input-hash="${orphan.inputHash}"]`).waitFor();
      assert.match((await page.textContent('.no-labels')) ?? '', /no version yet/);
      assert.equal(await page.locator('button.label-button').count(), 0);
      await page.goto(`${base}/admin/#review:${MODEL}`);
      await page.locator('p.left[data-left="2"]').waitFor();
    });

    test("a multi-label model's input is labeled with a set: keys toggle its labels, Enter saves the set", async () => {
      const TAGS = ['even', 'loop', 'ge5'];
      assert.equal((await publish(app, 'tags', 'v1', { labels: TAGS, output: { kind: 'sigmoid' } })).statusCode, 201);
      const tagged = prediction({ seed: 30, reason: 'low_confidence', model: 'tags' });
      const { label: _single, ...c } = correction(tagged, 'x', 'd1');
      await store(app, tagged, { ...c, labels: ['loop', 'even'] });
      await page.goto(`${base}/admin/#review:tags`);
      const card = page.locator(`article.current[data-input-hash="${tagged.inputHash}"]`);
      await card.waitFor();
      assert.match((await card.locator('ul.corrections').textContent()) ?? '', /even \+ loop from d1/);
      await page.keyboard.press('1'); // even
      await page.keyboard.press('3'); // ge5
      await page.keyboard.press('3'); // ge5 again: off
      await page.keyboard.press('2'); // loop
      assert.deepEqual(
        await card.locator('button.label-button').evaluateAll((bs) => bs.map((b) => b.getAttribute('aria-pressed'))),
        ['true', 'true', 'false'],
      );
      await page.keyboard.press('Enter');
      await card.waitFor({ state: 'detached' });
      assert.match((await page.textContent('.status')) ?? '', /as “even \+ loop”/);
      assert.deepEqual(await queued('tags'), []);
      await page.goto(`${base}/admin/#review:${MODEL}`);
      await page.locator('p.left[data-left="2"]').waitFor();
    });

    test('freezing from the page lists the batch with user labels as text', async () => {
      await page.click('nav button[data-tab=batches]');
      await page.locator('button', { hasText: 'Freeze a batch now' }).click();
      await page.locator('table').waitFor();
      const text = (await page.textContent('table')) ?? '';
      assert.ok(text.includes(`${XSS_MAJORITY}: 1`), text);
      assert.ok(text.includes(`${XSS_REVIEW}: 1`), text);
      assert.ok(text.includes('x: 1'), text);
      assert.ok(!text.includes('bird'), 'the undone label is in no batch');
      assert.equal(makeInput(1).inputHash, hostile.inputHash);
      await assertInert(page, HOSTILE);
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
      await assertInert(page, HOSTILE);
    });

    test('a wrong key is sent back to the sign-in form', async () => {
      await page.evaluate(() => sessionStorage.setItem('edgeloop.adminKey', 'not-a-key'));
      await page.reload();
      await page.locator('input[name=key]').waitFor();
      assert.match((await page.textContent('.status')) ?? '', /refused/);
    });
  });
}
