/**
 * Sends labeled examples to a collector the way devices do: a `reported` prediction carrying the input, then the
 * user's correction with the true (or given) label, spread over many devices (the collector caps labels per device).
 */
import { newId, sha256Hex, type CorrectionEvent, type Event, type PredictionEvent } from '@edgeloop/protocol';
import { exampleSize, pick, type ExampleSet } from '../../src/index.js';
import { KEYS } from './collector.js';

export interface SendOptions {
  model?: string;
  version?: string;
  devices?: number;
  /** Device ids are `<prefix>-<n>` (default "device"): another prefix sends the same examples from other devices. */
  devicePrefix?: string;
  /** Label to send for example i (default: its true label). */
  labelOf?: (i: number, trueLabel: string) => string;
  /** The label the model predicted for example i, as the prediction event says (default "0"). */
  predictedOf?: (i: number) => string;
}

/**
 * What a device sends when its user reports example `i` of `set` as wrong: the `reported` prediction with its input,
 * then the correction with `label` (default: the true label).
 */
export async function reportedPair(
  set: ExampleSet,
  i: number,
  o: {
    model: string;
    version: string;
    deviceId: string;
    output: PredictionEvent['output'];
    label?: string;
    engine?: string;
  },
): Promise<[PredictionEvent, CorrectionEvent]> {
  const size = exampleSize(set.shape);
  const bytes = new Uint8Array(set.x.slice(i * size, (i + 1) * size).buffer);
  const prediction: PredictionEvent = {
    id: newId(),
    model: o.model,
    version: o.version,
    deviceId: o.deviceId,
    ts: Date.now(),
    type: 'prediction',
    reason: 'reported',
    input: { dtype: 'float32', shape: [...set.shape], data: Buffer.from(bytes).toString('base64') },
    inputHash: await sha256Hex(bytes),
    output: o.output,
    engine: o.engine ?? 'test',
    latencyMs: 1,
  };
  const correction: CorrectionEvent = {
    id: newId(),
    model: o.model,
    version: o.version,
    deviceId: o.deviceId,
    ts: Date.now(),
    type: 'correction',
    predictionId: prediction.id,
    label: o.label ?? set.labels[set.y[i]!]!,
  };
  return [prediction, correction];
}

/** Posts a prediction + correction pair per example to `POST /v1/events`; returns how many were accepted. */
export async function sendCorrections(url: string, set: ExampleSet, options: SendOptions = {}): Promise<number> {
  const model = options.model ?? 'digits';
  const events: Event[] = [];
  for (let i = 0; i < set.count; i++) {
    const trueLabel = set.labels[set.y[i]!]!;
    const predicted = options.predictedOf?.(i) ?? '0';
    events.push(
      ...(await reportedPair(set, i, {
        model,
        version: options.version ?? 'v1',
        deviceId: `${options.devicePrefix ?? 'device'}-${i % (options.devices ?? 25)}`,
        output: { label: predicted, confidence: 0.5, topK: [{ label: predicted, p: 0.5 }] },
        label: options.labelOf ? options.labelOf(i, trueLabel) : trueLabel,
        engine: 'test',
      })),
    );
  }
  return postEvents(url, events);
}

/** Posts `events` to `POST /v1/events`, 100 a request, as a device's outbox does; returns how many were accepted. */
export async function postEvents(url: string, events: readonly Event[]): Promise<number> {
  let accepted = 0;
  for (let at = 0; at < events.length; at += 100) {
    const res = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.ingest}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: events.slice(at, at + 100) }),
    });
    if (!res.ok) throw new Error(`POST /v1/events answered ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as { accepted: number; rejected: unknown[] };
    if (body.rejected.length) throw new Error(`events rejected: ${JSON.stringify(body.rejected.slice(0, 3))}`);
    accepted += body.accepted;
  }
  return accepted;
}

/** Hands out the examples of `pool` in order, `n` at a time, each one once (a test's devices never resend one). */
export function drawer(pool: ExampleSet): (n: number) => ExampleSet {
  let next = 0;
  return (n) => {
    if (next + n > pool.count)
      throw new Error(`the pool of ${pool.count} examples is spent (${next} drawn, ${n} more asked)`);
    const from = next;
    next += n;
    return pick(
      pool,
      [...Array(n).keys()].map((i) => from + i),
    );
  };
}
