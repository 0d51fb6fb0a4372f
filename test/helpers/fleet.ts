/**
 * A fleet of simulated devices for the end-to-end tests: each asks the collector's manifest which version it must
 * run (so bucketing and the controller decide, as for a real device), predicts its users' digits with that version
 * (the stored TF.js model, on the test's CPU), reports the wrong predictions with the true label, and sends one
 * stats window per round. Every event it makes is kept in a ledger, so a test can check the collector stored each.
 */
import type * as tf from '@tensorflow/tfjs';
import { bucketOf, newId, type Event, type Manifest, type StatsEvent } from '@edgeloop/protocol';
import { reportedPair } from '../../packages/trainer/test/helpers/corrections.js';
import { CollectorClient, pick, predictProbs, storedModel, type ExampleSet } from '@edgeloop/trainer';

/** Ids of the events a device side generated, per kind. */
export type Ledger = Record<Event['type'], Set<string>>;

export const emptyLedger = (): Ledger => ({
  prediction: new Set(),
  correction: new Set(),
  stats: new Set(),
  error: new Set(),
});

export interface FleetRound {
  /** Per version: predictions and corrections made this round. */
  byVersion: Map<string, { predictions: number; corrections: number }>;
}

export interface FleetOptions {
  collector: string;
  ingestKey: string;
  trainerToken: string;
  model: string;
  /** The digits the fleet's users draw; each round continues where the last stopped (wrapping around). */
  digits: ExampleSet;
  /** Device ids. */
  devices: string[];
  /** Predictions per device per round. */
  perRound: number;
}

/**
 * `count` device ids (`<prefix>-<n>`) whose canary bucket lies in [from, to) (0–10000): a test places devices
 * on either side of a canary percent without depending on chance.
 */
export function devicesInBuckets(model: string, prefix: string, count: number, from: number, to: number): string[] {
  const out: string[] = [];
  for (let n = 0; out.length < count; n++) {
    if (n > 1_000_000) throw new Error(`no ${count} device ids with buckets in [${from}, ${to})`);
    const id = `${prefix}-${n}`;
    const b = bucketOf(model, id);
    if (b >= from && b < to) out.push(id);
  }
  return out;
}

export class Fleet {
  readonly ledger = emptyLedger();
  /** The version each device ran in its last round. */
  readonly versions = new Map<string, string>();
  private readonly client: CollectorClient;
  private readonly models = new Map<string, Promise<tf.LayersModel>>();
  private cursor = 0;

  constructor(private readonly o: FleetOptions) {
    this.client = new CollectorClient({ url: o.collector, token: o.trainerToken });
  }

  /** The manifest a device gets now. */
  async manifest(deviceId: string): Promise<Manifest> {
    const url = `${this.o.collector}/v1/models/${this.o.model}/manifest?device=${encodeURIComponent(deviceId)}`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${this.o.ingestKey}` } });
    if (!res.ok) throw new Error(`manifest for ${deviceId} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as Manifest;
  }

  /** One round: every device predicts `perRound` digits with its assigned version, reports the wrong ones, sends stats. */
  async round(): Promise<FleetRound> {
    const byVersion = new Map<string, { predictions: number; corrections: number }>();
    const events: Event[] = [];
    for (const deviceId of this.o.devices) {
      const manifest = await this.manifest(deviceId);
      const version = manifest.version;
      this.versions.set(deviceId, version);
      const indices = Array.from({ length: this.o.perRound }, () => this.cursor++ % this.o.digits.count);
      const set = pick(this.o.digits, indices);
      const probs = await predictProbs(await this.model(version), set);
      const k = set.labels.length;
      const from = Date.now();
      const hist = new Array<number>(10).fill(0);
      const labelCounts: Record<string, number> = {};
      let lowConfidence = 0;
      let corrections = 0;
      for (let i = 0; i < set.count; i++) {
        const row = probs.subarray(i * k, (i + 1) * k);
        let best = 0;
        for (let j = 1; j < k; j++) if (row[j]! > row[best]!) best = j;
        const confidence = Math.min(1, Math.max(0, row[best]!));
        const label = set.labels[best]!;
        hist[Math.min(9, Math.floor(confidence * 10))]!++;
        labelCounts[label] = (labelCounts[label] ?? 0) + 1;
        if (confidence < manifest.policy.lowConfidence) lowConfidence++;
        const truth = set.labels[set.y[i]!]!;
        if (label === truth) continue;
        // A wrong answer: the user reports it, as the runtime sends it (the prediction with its input, then the correction).
        corrections++;
        events.push(
          ...(await reportedPair(set, i, {
            model: this.o.model,
            version,
            deviceId,
            output: { label, confidence, topK: [{ label, p: confidence }] },
            label: truth,
            engine: 'fleet',
          })),
        );
      }
      const stats: StatsEvent = {
        id: newId(),
        model: this.o.model,
        version,
        deviceId,
        ts: Date.now(),
        type: 'stats',
        from,
        to: Date.now(),
        predictions: set.count,
        lowConfidence,
        corrections,
        errors: 0,
        latencyMs: { p50: 1, p95: 1 },
        confidenceHist: hist,
        labelCounts,
      };
      events.push(stats);
      const tally = byVersion.get(version) ?? { predictions: 0, corrections: 0 };
      tally.predictions += set.count;
      tally.corrections += corrections;
      byVersion.set(version, tally);
    }
    await this.send(events);
    return { byVersion };
  }

  /**
   * Users who label every drawing they make (a labeling campaign on the drift): each example goes out as a
   * `reported` prediction of `version` with its input, then a correction with the true label, spread over the fleet.
   */
  async labelAll(set: ExampleSet, version: string): Promise<void> {
    const events: Event[] = [];
    for (let i = 0; i < set.count; i++) {
      const deviceId = this.o.devices[i % this.o.devices.length]!;
      events.push(
        ...(await reportedPair(set, i, {
          model: this.o.model,
          version,
          deviceId,
          output: { label: '0', confidence: 0.5, topK: [{ label: '0', p: 0.5 }] },
          engine: 'fleet',
        })),
      );
    }
    await this.send(events);
  }

  /** Posts events as devices do and records each acknowledged one in the ledger; any rejection fails the test. */
  async send(events: Event[]): Promise<void> {
    for (let at = 0; at < events.length; at += 200) {
      const chunk = events.slice(at, at + 200);
      const res = await fetch(`${this.o.collector}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.o.ingestKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events: chunk }),
      });
      if (!res.ok) throw new Error(`POST /v1/events answered ${res.status}: ${await res.text()}`);
      const body = (await res.json()) as { accepted: number; rejected: unknown[] };
      if (body.rejected.length) throw new Error(`events rejected: ${JSON.stringify(body.rejected.slice(0, 3))}`);
      for (const e of chunk) this.ledger[e.type].add(e.id);
    }
  }

  /** Releases the loaded models. */
  async dispose(): Promise<void> {
    for (const m of this.models.values()) (await m).dispose();
    this.models.clear();
  }

  private model(version: string): Promise<tf.LayersModel> {
    let m = this.models.get(version);
    if (!m) {
      m = storedModel(this.client, this.o.model, version).then((s) => s.load());
      this.models.set(version, m);
    }
    return m;
  }
}
