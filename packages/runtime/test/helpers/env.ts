/**
 * One test environment: a real collector (`buildApp` on SQLite, port 0), the test app's origin in front of it
 * (pages + `/v1` forwarded, with faults), a headless Chromium, and helpers to publish versions and set the
 * rollout over the collector's HTTP API.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildApp, type App } from '@edgeloop/collector';
import type { RuntimeOptions } from '@edgeloop/runtime';
import { buildPages } from './build.js';
import { launchBrowser, openHarness } from './browser.js';
import { startAppServer, type AppServer } from './server.js';
import { digitsFixture, type VersionFiles } from './fixture.js';

export const KEYS = {
  admin: 'runtime-test-admin-key-0123456789',
  trainer: 'runtime-test-trainer-key-0123456789',
  ingest: 'runtime-test-ingest-key-0123456789',
} as const;
export const MODEL = 'digits';

export interface Env {
  collector: App;
  /** The collector's own URL (another origin than the pages). */
  collectorUrl: string;
  server: AppServer;
  browser: Browser;
  dataDir: string;
  /** A fresh browser context (fresh IndexedDB, caches, service workers). */
  context(): Promise<BrowserContext>;
  /** Opens the harness page in `context`. */
  open(context: BrowserContext, path?: string): Promise<Page>;
  /** Runtime options for the page: collector = the app origin (so faults apply), wasm paths set. */
  options(extra?: Record<string, unknown>): RuntimeOptions;
  /** Publishes `version`; `extra` is merged into its meta (an `output` spec, say). */
  publish(
    version: string,
    files?: VersionFiles,
    policy?: { lowConfidence: number; sampleRate: number },
    extra?: Record<string, unknown>,
  ): Promise<{ sha: Record<string, string> }>;
  /** Publishes a version of any model: `meta` as VersionMeta (defaults for lineage fields), one file part per artifact. */
  publishModel(model: string, meta: Record<string, unknown>, files: ArtifactFile[]): Promise<void>;
  rollout(r: { stable: string | null; canary?: string | null; canaryPercent?: number }): Promise<void>;
  /** Removes an artifact's bytes from the collector's disk (a 404), or overwrites them (a corruption). */
  breakArtifact(sha: string, how: 'delete' | 'corrupt'): void;
  eventCount(type?: 'prediction' | 'correction' | 'stats' | 'error'): Promise<number>;
  errors: string[];
  close(): Promise<void>;
}

/** One artifact file of a version: its format (the multipart field name) and file name. */
export interface ArtifactFile {
  format: 'onnx' | 'tfjs-layers';
  name: string;
  bytes: Uint8Array;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Starts everything a browser test needs. `webgpu`: Chromium with the SwiftShader adapter; `isolated`: COOP/COEP pages. */
export async function startEnv(
  opts: { webgpu?: boolean; pollAfterSec?: number; isolated?: boolean } = {},
): Promise<Env> {
  const [root] = await Promise.all([buildPages()]);
  const fixture = digitsFixture();
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeloop-runtime-test-'));
  const collector = await buildApp({
    storage: { sqlite: { path: join(dataDir, 'edgeloop.db') } },
    dataDir,
    seedKeys: KEYS,
    controller: false,
    rateLimit: false,
    pollAfterSec: opts.pollAfterSec ?? 60,
  });
  await collector.listen({ port: 0, host: '127.0.0.1' });
  const collectorUrl = `http://127.0.0.1:${(collector.server.address() as AddressInfo).port}`;
  const server = await startAppServer(root, collectorUrl, { isolated: opts.isolated ?? false });
  const browser = await launchBrowser({ webgpu: opts.webgpu ?? false });
  const contexts: BrowserContext[] = [];
  const errors: string[] = [];

  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${collectorUrl}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${KEYS.admin}`, ...(init.headers ?? {}) },
    });

  const env: Env = {
    collector,
    collectorUrl,
    server,
    browser,
    dataDir,
    errors,
    async context() {
      const c = await browser.newContext();
      contexts.push(c);
      return c;
    },
    async open(context, path = '/') {
      return (await openHarness(context, `${server.url}${path}`, errors)).page;
    },
    options(extra = {}) {
      return {
        collector: server.url,
        key: KEYS.ingest,
        model: MODEL,
        wasmPaths: { tfjs: `${server.url}/tfjs/` },
        ...extra,
      } as RuntimeOptions;
    },
    async publish(version, files = {}, policy = { lowConfidence: 0.6, sampleRate: 0.05 }, extra = {}) {
      const onnx = files.onnx ?? fixture.onnx;
      const modelJson = files.modelJson ?? fixture.modelJson;
      const weights = files.weights ?? fixture.weights;
      const form = new FormData();
      const meta = {
        version,
        parent: null,
        batches: [],
        metrics: {},
        labels: fixture.labels,
        input: fixture.input,
        policy,
        trainer: { test: true },
        codeVersion: 'runtime-test',
        ...extra,
      };
      form.append('meta', JSON.stringify(meta));
      form.append('onnx', new Blob([onnx as Uint8Array<ArrayBuffer>]), 'model.onnx');
      form.append('tfjs-layers', new Blob([modelJson as Uint8Array<ArrayBuffer>]), 'model.json');
      form.append('tfjs-layers', new Blob([weights as Uint8Array<ArrayBuffer>]), 'weights.bin');
      const res = await admin(`/v1/models/${MODEL}/versions`, { method: 'POST', body: form });
      if (res.status !== 201) throw new Error(`publish ${version}: ${res.status} ${await res.text()}`);
      return { sha: { 'model.onnx': sha256(onnx), 'model.json': sha256(modelJson), 'weights.bin': sha256(weights) } };
    },
    async publishModel(model, meta, files) {
      const form = new FormData();
      form.append(
        'meta',
        JSON.stringify({
          parent: null,
          batches: [],
          metrics: {},
          trainer: { test: true },
          codeVersion: 'runtime-test',
          policy: { lowConfidence: 0.6, sampleRate: 0 },
          ...meta,
        }),
      );
      for (const f of files) form.append(f.format, new Blob([f.bytes as Uint8Array<ArrayBuffer>]), f.name);
      const res = await admin(`/v1/models/${model}/versions`, { method: 'POST', body: form });
      if (res.status !== 201) throw new Error(`publish ${model}: ${res.status} ${await res.text()}`);
    },
    async rollout({ stable, canary = null, canaryPercent = 0 }) {
      const res = await admin(`/v1/models/${MODEL}/rollout`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ stable, canary, canaryPercent, reason: 'runtime test' }),
      });
      if (res.status !== 200) throw new Error(`rollout: ${res.status} ${await res.text()}`);
    },
    breakArtifact(sha, how) {
      const path = join(dataDir, 'artifacts', sha.slice(0, 2), sha);
      if (how === 'delete') unlinkSync(path);
      else writeFileSync(path, Buffer.from('corrupted bytes, not the artifact'));
    },
    eventCount(type) {
      return collector.storage.events.count({ model: MODEL, ...(type ? { type } : {}) });
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      await server.close();
      await collector.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return env;
}
