/**
 * The loop's stage, shared by the end-to-end canary tests and the loop-latency benchmark: a real collector (SQLite,
 * its rollout controller ticking), the demo page built by Vite and served by `vite preview`, real headless Chromium,
 * and the trainer CLI run as child processes. Also the page-side steps: predicting drifted digits through the
 * demo's runtime, reporting the wrong ones, and waiting for the first prediction a given version serves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { buildApp, type App } from '@edgeloop/collector';
import type { AutoPolicy, Event, Rollout } from '@edgeloop/protocol';
import type { Runtime } from '@edgeloop/runtime';
import { exampleSize, type ExampleSet } from '@edgeloop/trainer';
import { launchBrowser } from '../../packages/runtime/test/helpers/browser.js';
import { KEYS } from '../../packages/trainer/test/helpers/collector.js';
import { emptyLedger, type Ledger } from './fleet.js';

export { KEYS };
export const MODEL = 'digits';

const root = fileURLToPath(new URL('../..', import.meta.url));
const trainerBin = join(root, 'packages/trainer/bin/edgeloop-trainer.js');

export interface SceneOptions {
  /** How often the collector's rollout controller ticks. */
  controllerTickMs: number;
  /** The manifest's `pollAfterSec`: how soon devices notice a new assignment. */
  pollAfterSec: number;
}

/** A trainer CLI child process: its exit and everything it printed so far. */
export interface TrainerRun {
  child: ChildProcess;
  output(): string;
  exit: Promise<{ code: number; out: string }>;
}

export interface Scene {
  dir: string;
  app: App;
  collector: string;
  demo: PreviewServer;
  browser: Browser;
  /** Starts the trainer CLI with `args` (model, collector, trainer token and `--backend cpu` added). */
  trainer(args: string[]): TrainerRun;
  rollout(): Promise<Rollout>;
  /** Sets the automatic policy of the live rollout as an operator does (`PUT .../rollout`, trainer token). */
  setPolicy(auto: AutoPolicy, reason: string): Promise<Rollout>;
  /** Opens the demo page as device `deviceId`; the ledger records every event the collector acknowledged from it. */
  openDemo(deviceId: string, statsWindowMs: number): Promise<DemoPage>;
  close(): Promise<void>;
}

export interface DemoPage {
  context: BrowserContext;
  page: Page;
  errors: string[];
  ledger: Ledger;
}

/** Starts the collector, builds and serves the demo, launches Chromium. */
export async function startScene(o: SceneOptions): Promise<Scene> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-e2e-'));
  const app = await buildApp({
    dataDir: dir,
    seedKeys: KEYS,
    rateLimit: false,
    controller: { tickMs: o.controllerTickMs },
    pollAfterSec: o.pollAfterSec,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const collector = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const outDir = join(dir, 'demo');
  await build({ root: join(root, 'demo'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  const demo = await preview({
    root: join(root, 'demo'),
    logLevel: 'warn',
    build: { outDir },
    preview: { host: 'localhost', port: 0 },
  });
  const browser = await launchBrowser();
  const children = new Set<ChildProcess>();
  const admin = { authorization: `Bearer ${KEYS.admin}` };

  const scene: Scene = {
    dir,
    app,
    collector,
    demo,
    browser,
    trainer(args) {
      const child = spawn(
        process.execPath,
        [trainerBin, ...args, '--model', MODEL, '--collector', collector, '--token', KEYS.trainer, '--backend', 'cpu'],
        { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.add(child);
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      const exit = new Promise<{ code: number; out: string }>((resolve) =>
        child.on('exit', (code) => {
          children.delete(child);
          resolve({ code: code ?? 1, out });
        }),
      );
      return { child, output: () => out, exit };
    },
    async rollout() {
      const res = await fetch(`${collector}/v1/models/${MODEL}/rollout`, { headers: admin });
      if (!res.ok) throw new Error(`GET rollout answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as Rollout;
    },
    async setPolicy(auto, reason) {
      const r = await scene.rollout();
      const res = await fetch(`${collector}/v1/models/${MODEL}/rollout`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${KEYS.trainer}`, 'content-type': 'application/json' },
        body: JSON.stringify({ stable: r.stable, canary: r.canary, canaryPercent: r.canaryPercent, auto, reason }),
      });
      if (!res.ok) throw new Error(`PUT rollout answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as Rollout;
    },
    async openDemo(deviceId, statsWindowMs) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const errors: string[] = [];
      const ledger = emptyLedger();
      page.on('pageerror', (e) => errors.push(e.message));
      // The runtime uploads from its worker; Chromium reports the worker's requests to the page.
      page.on('requestfinished', (req) => {
        if (req.method() !== 'POST' || !req.url().startsWith(`${collector}/v1/events`)) return;
        void req.response().then((res) => {
          if (!res?.ok()) return;
          const body = JSON.parse(req.postData() ?? '{"events":[]}') as { events: Event[] };
          for (const e of body.events) ledger[e.type].add(e.id);
        });
      });
      const url = new URL(demo.resolvedUrls!.local[0]!);
      url.search = new URLSearchParams({
        collector,
        key: KEYS.ingest,
        device: deviceId,
        statsWindowMs: String(statsWindowMs),
      }).toString();
      await page.goto(url.href);
      await page.waitForFunction(
        () => (globalThis as unknown as { edgeloop?: Runtime }).edgeloop?.status().version,
        null,
        {
          timeout: 120_000,
        },
      );
      return { context, page, errors, ledger };
    },
    async close() {
      for (const c of children) c.kill('SIGTERM');
      await browser.close();
      await new Promise<void>((resolve) => demo.httpServer.close(() => resolve()));
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return scene;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs` saying `what`. */
export async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A set's pixels and true labels, as `page.evaluate` can carry them. */
function wire(set: ExampleSet) {
  return {
    pixels: Array.from(set.x),
    labels: Array.from(set.y, (y) => set.labels[y]!),
    size: exampleSize(set.shape),
  };
}

export interface PageRun {
  predictions: number;
  correct: number;
  /** Predictions reported wrong (with the true label). */
  reported: number;
  versions: string[];
}

/**
 * Predicts every digit of `set` through the demo page's runtime; with `report`, a wrong answer is reported with the
 * true label, as a user would. Resolves once the outbox has sent everything.
 */
export async function predictInPage(page: Page, set: ExampleSet, report: boolean): Promise<PageRun> {
  return page.evaluate(
    async ({ pixels, labels, size, report }) => {
      const rt = (globalThis as unknown as { edgeloop: Runtime }).edgeloop;
      let correct = 0;
      let reported = 0;
      const versions = new Set<string>();
      for (let i = 0; i < labels.length; i++) {
        const p = await rt.predict(new Float32Array(pixels.slice(i * size, (i + 1) * size)));
        versions.add(p.version);
        if (p.label === labels[i]) correct++;
        else if (report) {
          await rt.reportWrongResult(p.id, labels[i]!);
          reported++;
        }
      }
      await rt.flush();
      return { predictions: labels.length, correct, reported, versions: [...versions] };
    },
    { ...wire(set), report },
  );
}

/**
 * Predicts the digits of `set` in turn, one every `everyMs` (a user drawing now and then), until the runtime serves
 * `version`; resolves with the wall-clock time of that first prediction and how many came before it.
 */
export async function firstPredictionBy(
  page: Page,
  set: ExampleSet,
  version: string,
  everyMs: number,
  timeoutMs: number,
): Promise<{ at: number; before: number }> {
  return page.evaluate(
    async ({ pixels, labels, size, version, everyMs, timeoutMs }) => {
      const rt = (globalThis as unknown as { edgeloop: Runtime }).edgeloop;
      const deadline = Date.now() + timeoutMs;
      for (let n = 0; ; n++) {
        const i = n % labels.length;
        const p = await rt.predict(new Float32Array(pixels.slice(i * size, (i + 1) * size)));
        if (p.version === version) return { at: Date.now(), before: n };
        if (Date.now() > deadline)
          throw new Error(`the page still served ${p.version} ${timeoutMs} ms later, not ${version}`);
        await new Promise((r) => setTimeout(r, everyMs));
      }
    },
    { ...wire(set), version, everyMs, timeoutMs },
  );
}

/** The page runtime's status. */
export function pageStatus(page: Page) {
  return page.evaluate(() => (globalThis as unknown as { edgeloop: Runtime }).edgeloop.status());
}

/**
 * Predicts the digits of `set` in turn until the model gets one wrong, then reports it with the true label (a
 * user's "report wrong result") and flushes; resolves with when the report was made and the version that erred.
 */
export async function reportNextWrong(page: Page, set: ExampleSet): Promise<{ at: number; version: string }> {
  return page.evaluate(async ({ pixels, labels, size }) => {
    const rt = (globalThis as unknown as { edgeloop: Runtime }).edgeloop;
    for (let i = 0; i < labels.length; i++) {
      const p = await rt.predict(new Float32Array(pixels.slice(i * size, (i + 1) * size)));
      if (p.label === labels[i]) continue;
      const at = Date.now();
      await rt.reportWrongResult(p.id, labels[i]!);
      await rt.flush();
      return { at, version: p.version };
    }
    throw new Error(`the model got all ${labels.length} digits right: nothing to report`);
  }, wire(set));
}
