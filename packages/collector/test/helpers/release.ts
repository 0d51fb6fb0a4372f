/** Fixtures for the registry, rollout, manifest, metrics and canary suites: publishing versions and synthetic stats. */
import { createHash } from 'node:crypto';
import { newId, type StatsEvent, type VersionMeta } from '@edgeloop/protocol';
import type { App } from '@edgeloop/collector';
import { KEYS, bearer } from './stores.js';

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export function meta(over: Partial<VersionMeta> = {}): VersionMeta {
  return {
    parent: null,
    batches: [],
    metrics: { accuracy: 0.97 },
    labels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    input: { shape: [28, 28, 1], dtype: 'float32', normalize: { scale: 1, offset: 0 } },
    trainer: { epochs: 1, replay: 0.5 },
    codeVersion: 'test-0',
    ...over,
  };
}

export interface UploadFile {
  format: string;
  name: string;
  bytes: Uint8Array;
}

/** A multipart/form-data body as a client would send it (built by the platform's FormData). */
export async function multipart(
  metaPart: unknown,
  files: UploadFile[],
): Promise<{ payload: Buffer; headers: Record<string, string> }> {
  const form = new FormData();
  if (metaPart !== undefined) form.append('meta', typeof metaPart === 'string' ? metaPart : JSON.stringify(metaPart));
  for (const f of files) form.append(f.format, new Blob([f.bytes as Uint8Array<ArrayBuffer>]), f.name);
  const res = new Response(form);
  return {
    payload: Buffer.from(await res.arrayBuffer()),
    headers: { 'content-type': res.headers.get('content-type')! },
  };
}

/** Deterministic artifact bytes for a version (distinct per version and name). */
export function artifactBytes(version: string, name: string, size = 2048): Uint8Array {
  const out = new Uint8Array(size);
  const seed = createHash('sha256').update(`${version}/${name}`).digest();
  for (let i = 0; i < size; i++) out[i] = seed[i % seed.length]! ^ (i & 0xff);
  return out;
}

export function defaultFiles(version: string): UploadFile[] {
  return [
    { format: 'onnx', name: 'model.onnx', bytes: artifactBytes(version, 'model.onnx') },
    {
      format: 'tfjs-layers',
      name: 'model.json',
      bytes: new TextEncoder().encode(JSON.stringify({ version, weightsManifest: [] })),
    },
    { format: 'tfjs-layers', name: 'group1-shard1of1.bin', bytes: artifactBytes(version, 'group1-shard1of1.bin') },
  ];
}

/** Publishes a version through the API. */
export async function publish(
  app: App,
  model: string,
  version: string | undefined,
  over: Partial<VersionMeta> = {},
  files?: UploadFile[],
  key: string = KEYS.trainer,
) {
  const body = await multipart(
    meta({ ...(version ? { version } : {}), ...over }),
    files ?? defaultFiles(version ?? 'unnamed'),
  );
  return app.inject({
    method: 'POST',
    url: `/v1/models/${model}/versions`,
    headers: { ...body.headers, ...bearer(key) },
    payload: body.payload,
  });
}

export interface StatsSpec {
  model: string;
  version: string;
  deviceId?: string;
  predictions: number;
  lowConfidence?: number;
  corrections?: number;
  errors?: number;
  latencyMs?: { p50: number; p95: number };
  confidenceHist?: number[];
  labelCounts?: Record<string, number>;
}

/** A synthetic `stats` event: by default confidence spread evenly over the top bins and labels uniform. */
export function stats(s: StatsSpec): StatsEvent {
  const per = Math.floor(s.predictions / 10);
  const labelCounts =
    s.labelCounts ??
    Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(i), per + (i < s.predictions - per * 10 ? 1 : 0)]));
  const hist = s.confidenceHist ?? [
    0,
    0,
    0,
    0,
    0,
    0,
    Math.floor(s.predictions * 0.1),
    Math.floor(s.predictions * 0.2),
    Math.floor(s.predictions * 0.3),
    0,
  ];
  const sum = hist.reduce((a, b) => a + b, 0);
  if (s.confidenceHist === undefined) hist[9] = s.predictions - sum;
  return {
    id: newId(),
    model: s.model,
    version: s.version,
    deviceId: s.deviceId ?? `device-${newId()}`,
    ts: Date.now(),
    type: 'stats',
    from: Date.now() - 60_000,
    to: Date.now(),
    predictions: s.predictions,
    lowConfidence: s.lowConfidence ?? 0,
    corrections: s.corrections ?? 0,
    errors: s.errors ?? 0,
    latencyMs: s.latencyMs ?? { p50: 3, p95: 8 },
    confidenceHist: hist,
    labelCounts,
  };
}
