/**
 * Fixtures for the label, batch, review and golden suites: real inputs (bytes whose sha256 is the inputHash),
 * predictions and corrections as devices send them, stored through the event store.
 */
import { createHash } from 'node:crypto';
import { newId, type CorrectionEvent, type Event, type PredictionEvent, type Tensor } from '@edgeloop/protocol';
import type { App } from '@edgeloop/collector';
import { bearer, KEYS } from './stores.js';

export const MODEL = 'digits';

/** A 4×4 uint8 input made from `seed`, with its inputHash. */
export function makeInput(seed: number): { input: Tensor; inputHash: string } {
  const bytes = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) bytes[i] = (seed * 31 + i * 7 + (seed >> 8)) & 0xff;
  bytes.writeUInt32LE(seed >>> 0, 0);
  return {
    input: { dtype: 'uint8', shape: [4, 4], data: bytes.toString('base64') },
    inputHash: createHash('sha256').update(bytes).digest('hex'),
  };
}

export interface PredictionOptions {
  seed: number;
  model?: string;
  deviceId?: string;
  reason?: PredictionEvent['reason'];
  label?: string;
  confidence?: number;
  /** Upload the input bytes (capture on). Default true. */
  withInput?: boolean;
}

export function prediction(o: PredictionOptions): PredictionEvent {
  const { input, inputHash } = makeInput(o.seed);
  return {
    id: newId(),
    model: o.model ?? MODEL,
    version: 'v1',
    deviceId: o.deviceId ?? 'device-p',
    ts: Date.now(),
    type: 'prediction',
    reason: o.reason ?? 'reported',
    ...(o.withInput === false ? {} : { input }),
    inputHash,
    output: {
      label: o.label ?? '0',
      confidence: o.confidence ?? 0.4,
      topK: [{ label: o.label ?? '0', p: o.confidence ?? 0.4 }],
    },
    engine: 'test',
    latencyMs: 1,
  };
}

export function correction(p: PredictionEvent, label: string, deviceId: string, comment?: string): CorrectionEvent {
  return {
    id: newId(),
    model: p.model,
    version: p.version,
    deviceId,
    ts: Date.now(),
    type: 'correction',
    predictionId: p.id,
    label,
    ...(comment === undefined ? {} : { comment }),
  };
}

let clock = Date.now();

/** Stores events as ingest would, each call one commit with a later receive time than the last. */
export async function store(app: App, ...events: Event[]): Promise<void> {
  await app.storage.events.insert(events, ++clock);
}

/** A prediction of input `seed` and one correction per entry of `votes` (device → label), stored. */
export async function labeled(
  app: App,
  seed: number,
  votes: Record<string, string>,
  options: Partial<PredictionOptions> = {},
): Promise<PredictionEvent> {
  const p = prediction({ seed, ...options });
  await store(app, p, ...Object.entries(votes).map(([device, label]) => correction(p, label, device)));
  return p;
}

/** POST /v1/models/:model/batches with the trainer key. */
export function freeze(app: App, model = MODEL, query = '') {
  return app.inject({ method: 'POST', url: `/v1/models/${model}/batches${query}`, headers: bearer(KEYS.trainer) });
}

/** The NDJSON export of a batch, parsed. */
export async function examplesOf(
  app: App,
  id: string,
): Promise<{ body: string; lines: { inputHash: string; input: Tensor; label: string; split: string }[] }> {
  const r = await app.inject({ method: 'GET', url: `/v1/batches/${id}/examples`, headers: bearer(KEYS.trainer) });
  if (r.statusCode !== 200) throw new Error(`examples of ${id}: ${r.statusCode} ${r.body}`);
  return {
    body: r.body,
    lines: r.body
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
  };
}

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
