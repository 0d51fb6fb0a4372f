// What is kept, in real Chromium against a real collector: low-confidence predictions, input capture or only
// its hash, per-version stats windows, corrections, and the <edgeloop-report> element.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Page } from 'playwright-core';
import { startEnv, type Env } from './helpers/env.js';
import { digits } from './helpers/fixture.js';
import { waitFor } from './helpers/wait.js';

interface Posted {
  id: string;
  type: string;
  deviceId: string;
  version: string;
  reason?: string;
  input?: { dtype: string; shape: number[]; data: string };
  inputHash?: string;
  output?: { label: string; confidence: number };
  predictionId?: string;
  label?: string;
  comment?: string;
  predictions?: number;
  lowConfidence?: number;
  corrections?: number;
  confidenceHist?: number[];
  labelCounts?: Record<string, number>;
  latencyMs?: unknown;
}

describe('capture', () => {
  let env: Env;
  const { x } = digits(30);
  let threshold = 0;

  before(async () => {
    env = await startEnv();
    await env.publish('probe', {}, { lowConfidence: 0, sampleRate: 0 });
    // Half the predictions fall under the median confidence of these digits.
    const page = await env.open(await env.context());
    const conf = await page.evaluate(
      async ({ opts, x }) => {
        await window.kit.create('rt', opts);
        return (await window.kit.predictAll('rt', x)).map((p) => p.confidence);
      },
      { opts: env.options({ engine: 'ort-wasm', pollIntervalMs: 0 }), x },
    );
    threshold = [...conf].sort((a, b) => a - b)[Math.floor(conf.length / 2)]!;
    await env.publish('half', {}, { lowConfidence: threshold, sampleRate: 0 });
    await env.rollout({ stable: 'half' });
  });
  after(() => env?.close());

  const posted = (): Posted[] =>
    env.server
      .eventPosts()
      .filter((r) => r.outcome === '200')
      .flatMap((r) => (JSON.parse(r.body.toString('utf8')) as { events: Posted[] }).events);

  async function start(extra: Record<string, unknown> = {}): Promise<Page> {
    const page = await env.open(await env.context());
    await page.evaluate(
      (opts) => window.kit.create('rt', opts),
      env.options({ engine: 'ort-wasm', pollIntervalMs: 0, outbox: { flushIntervalMs: 100 }, ...extra }),
    );
    return page;
  }

  test('keeps every low-confidence prediction, only counts the rest, and closes per-version stats windows', async () => {
    const page = await start({ statsWindowMs: 600 });
    const device = await page.evaluate(() => window.kit.rts.rt!.status().deviceId);
    const preds = await page.evaluate((x) => window.kit.predictAll('rt', x), x);
    const low = preds.filter((p) => p.confidence < threshold);
    assert.ok(low.length > 0 && low.length < preds.length);
    // The predictions may straddle two windows: add the windows up.
    const windows = () => posted().filter((e) => e.type === 'stats' && e.deviceId === device);
    await waitFor('the stats windows', () => windows().reduce((n, e) => n + e.predictions!, 0) === preds.length);
    const all = windows();
    assert.ok(all.every((e) => e.version === 'half'));
    const sum = (f: (e: Posted) => number) => all.reduce((n, e) => n + f(e), 0);
    const stats = {
      lowConfidence: sum((e) => e.lowConfidence!),
      confidenceHist: [sum((e) => e.confidenceHist!.reduce((a, b) => a + b, 0))],
      labelCounts: all.reduce<Record<string, number>>((acc, e) => {
        for (const [k, v] of Object.entries(e.labelCounts!)) acc[k] = (acc[k] ?? 0) + v;
        return acc;
      }, {}),
    };
    await page.evaluate(() => window.kit.rts.rt!.flush());
    const kept = posted().filter((e) => e.type === 'prediction' && preds.some((p) => p.id === e.id));
    assert.deepEqual(kept.map((e) => e.id).sort(), low.map((p) => p.id).sort());
    assert.ok(kept.every((e) => e.reason === 'low_confidence'));
    assert.equal(stats.lowConfidence, low.length);
    assert.equal(
      stats.confidenceHist!.reduce((a, b) => a + b, 0),
      preds.length,
    );
    assert.equal(
      Object.values(stats.labelCounts!).reduce((a, b) => a + b, 0),
      preds.length,
    );
    for (const p of preds) assert.ok(stats.labelCounts![p.label]! > 0);
  });

  test('the input hash is the sha256 of the raw input bytes; capture off keeps only the hash', async () => {
    for (const captureInput of [true, false]) {
      const page = await start({ captureInput });
      const preds = await page.evaluate((x) => window.kit.predictAll('rt', x), x.slice(0, 10));
      await page.evaluate(() => window.kit.rts.rt!.flush());
      const low = preds.filter((p) => p.confidence < threshold);
      const events = await waitFor('the kept predictions', () => {
        const got = posted().filter((e) => low.some((p) => p.id === e.id));
        return got.length === low.length ? got : null;
      });
      for (const e of events) {
        const i = preds.findIndex((p) => p.id === e.id);
        const bytes = Buffer.from(new Float32Array(x[i]!).buffer);
        assert.equal(e.inputHash, createHash('sha256').update(bytes).digest('hex'));
        if (captureInput) {
          assert.deepEqual(e.input?.shape, [28, 28, 1]);
          assert.equal(e.input?.dtype, 'float32');
          assert.ok(Buffer.from(e.input!.data, 'base64').equals(bytes));
        } else assert.equal(e.input, undefined);
      }
    }
  });

  test('a kept input is the one the model ran on, with the app reusing its buffer and more predictions than the ring holds before the capture task', async () => {
    const page = await start({ recentPredictions: 4 });
    // One buffer, refilled for every prediction, and no yield to the event loop between the 30 predictions.
    const preds = await page.evaluate(async (x) => {
      const rt = window.kit.rts.rt!;
      const buffer = new Float32Array(x[0]!.length);
      const out = [];
      for (const v of x) {
        buffer.set(v);
        out.push(await rt.predict(buffer));
      }
      return out;
    }, x);
    await page.evaluate(() => window.kit.rts.rt!.flush());
    const low = preds.filter((p) => p.confidence < threshold);
    assert.ok(low.length > 4, `${low.length} kept predictions`);
    const events = await waitFor('the kept predictions', () => {
      const got = posted().filter((e) => low.some((p) => p.id === e.id));
      return got.length === low.length ? got : null;
    });
    for (const e of events) {
      const bytes = Buffer.from(new Float32Array(x[preds.findIndex((p) => p.id === e.id)]!).buffer);
      assert.ok(Buffer.from(e.input!.data, 'base64').equals(bytes), `input of ${e.id}`);
      assert.equal(e.inputHash, createHash('sha256').update(bytes).digest('hex'));
    }
  });

  test('a reported prediction is kept with its input, and the correction points at it', async () => {
    const page = await start({ statsWindowMs: 600 });
    const preds = await page.evaluate((x) => window.kit.predictAll('rt', x), x);
    const confident = preds.find((p) => p.confidence >= threshold)!;
    await page.evaluate(({ id }) => window.kit.rts.rt!.reportWrongResult(id, '7', { comment: 'it is a seven' }), {
      id: confident.id,
    });
    await page.evaluate(() => window.kit.rts.rt!.flush());
    const got = await waitFor('the correction', () => {
      const events = posted();
      const c = events.find((e) => e.type === 'correction' && e.predictionId === confident.id);
      const p = events.find((e) => e.type === 'prediction' && e.id === confident.id);
      return c && p && { c, p };
    });
    assert.equal(got.p.reason, 'reported');
    assert.ok(
      Buffer.from(got.p.input!.data, 'base64').equals(
        Buffer.from(new Float32Array(x[preds.indexOf(confident)]!).buffer),
      ),
    );
    assert.deepEqual([got.c.label, got.c.comment, got.c.version], ['7', 'it is a seven', 'half']);
    const device = await page.evaluate(() => window.kit.rts.rt!.status().deviceId);
    const stats = await waitFor('a stats window with the correction', () =>
      posted().find((e) => e.type === 'stats' && e.deviceId === device && e.corrections === 1),
    );
    assert.equal(stats.version, 'half');
  });

  test('<edgeloop-report> works from the keyboard, speaks through a status region and is styleable', async () => {
    const page = await start();
    const id = await page.evaluate(async (x) => {
      const el = document.createElement('edgeloop-report') as HTMLElement & { runtime: unknown };
      window.edgeloop.defineReportElement();
      const p = await window.kit.rts.rt!.predict(x);
      el.setAttribute('prediction-id', p.id);
      el.runtime = window.kit.rts.rt;
      const style = document.createElement('style');
      style.textContent = 'edgeloop-report::part(button) { color: rgb(255, 0, 0); }';
      document.head.append(style);
      document.body.append(el);
      return p.id;
    }, x[0]!);
    const button = page.getByRole('button', { name: 'Report wrong result' });
    assert.equal(await button.evaluate((b) => getComputedStyle(b).color), 'rgb(255, 0, 0)');
    assert.equal(await button.getAttribute('aria-expanded'), 'false');
    await page.keyboard.press('Tab');
    assert.equal(await button.evaluate((b) => b.matches(':focus')), true);
    await page.keyboard.press('Enter');
    assert.equal(await button.getAttribute('aria-expanded'), 'true');
    const select = page.getByRole('combobox', { name: 'Correct answer' });
    assert.equal(await select.evaluate((s) => s.matches(':focus')), true);
    // Escape closes and gives focus back to the button; Enter opens it again.
    await page.keyboard.press('Escape');
    assert.equal(await button.getAttribute('aria-expanded'), 'false');
    assert.equal(await button.evaluate((b) => b.matches(':focus')), true);
    await page.keyboard.press('Enter');
    for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowDown');
    assert.equal(await select.inputValue(), '4');
    await page.keyboard.press('Tab');
    await page.keyboard.type('looks like a four');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await waitFor('the confirmation', async () => (await page.getByRole('status').textContent())?.includes('recorded'));
    await page.evaluate(() => window.kit.rts.rt!.flush());
    const c = await waitFor('the correction', () =>
      posted().find((e) => e.type === 'correction' && e.predictionId === id),
    );
    assert.deepEqual([c.label, c.comment], ['4', 'looks like a four']);
  });
});
