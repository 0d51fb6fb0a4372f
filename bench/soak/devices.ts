/**
 * The soak's simulated devices, in Node, on the runtime's own parts: each has its IndexedDB (fake-indexeddb), the
 * runtime's `Outbox` (store first, send in batches, delete only on the 2xx, backoff with jitter, idempotent
 * resends by event id) and its `ManifestClient` (ETag polls). What a device makes: predictions (low-confidence and
 * sampled), corrections of drifted digits its user reports (the prediction with its input, then the correction:
 * what trainers learn from), and a stats window now and then. Every event id a device generates is kept, so that
 * the end can check the collectors stored each exactly once.
 */
import 'fake-indexeddb/auto';
import { newId, type Event, type StatsEvent } from '@edgeloop/protocol';
import { Database, ManifestClient, Outbox } from '@edgeloop/runtime/internal';
import type { ExampleSet } from '@edgeloop/trainer';
import { reportedPair } from '../../packages/trainer/test/helpers/corrections.js';

export interface FleetOptions {
  url: string;
  key: string;
  model: string;
  devices: number;
  /** mean ms between a device's ticks (each makes 2 predictions; every 5th polls the manifest) */
  tickMs: number;
  /** chance that a tick also reports a wrong prediction with its correction */
  correctionRate: number;
  digits: ExampleSet;
}

interface Device {
  id: string;
  db: Database;
  outbox: Outbox;
  manifest: ManifestClient;
  version: string;
  ticks: number;
}

export class SimFleet {
  /** every event id the devices generated */
  readonly generated = new Set<string>();
  readonly counts = { predictions: 0, corrections: 0, stats: 0, manifestPolls: 0, manifestErrors: 0, ticks: 0 };
  readonly #devices: Device[] = [];
  #running = false;
  #loops: Promise<void>[] = [];
  #cursor = 0;

  constructor(private readonly o: FleetOptions) {
    for (let i = 0; i < o.devices; i++) {
      const id = `soak-dev-${i}`;
      const db = new Database(`edgeloop-soak-${i}`);
      this.#devices.push({
        id,
        db,
        outbox: new Outbox(
          db,
          { url: o.url, key: o.key },
          // A collector gone for seconds, not a phone offline for hours: back off within 0.5–8 s.
          { batchEvents: 10, flushIntervalMs: 1000, baseDelayMs: 500, maxDelayMs: 8000, timeoutMs: 30_000 },
        ),
        manifest: new ManifestClient(o.url, o.key, o.model, id, db),
        version: 'v1',
        ticks: 0,
      });
    }
  }

  start(): void {
    this.#running = true;
    this.#loops = this.#devices.map((d) => this.#loop(d));
  }

  /** Stops making events (what is stored stays in the outboxes). */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  /** Events stored in the outboxes and not yet acknowledged; and those the outboxes dropped. */
  pending(): { pending: number; dropped: number } {
    let pending = 0;
    let dropped = 0;
    for (const d of this.#devices) {
      const s = d.outbox.status();
      pending += s.pending;
      dropped += s.dropped;
    }
    return { pending, dropped };
  }

  /** Sends what every outbox holds (ending their backoff, as the `online` event does) until all are empty. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(this.#devices.map((d) => d.outbox.online()));
      if (states.every((s) => s.pending === 0)) return true;
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  dispose(): void {
    for (const d of this.#devices) {
      d.outbox.dispose();
      d.db.close();
    }
  }

  async #loop(d: Device): Promise<void> {
    while (this.#running) {
      await new Promise((r) => setTimeout(r, this.o.tickMs * (0.5 + Math.random())));
      if (!this.#running) break;
      try {
        await this.#tick(d);
      } catch (err) {
        console.error(`device ${d.id}: ${(err as Error).message}`);
      }
    }
  }

  async #tick(d: Device): Promise<void> {
    this.counts.ticks++;
    if (d.ticks++ % 5 === 0) {
      this.counts.manifestPolls++;
      try {
        const answer = await d.manifest.fetch();
        if (answer.kind === 'changed') d.version = answer.manifest.version;
      } catch {
        this.counts.manifestErrors++;
      }
    }
    const base = { model: this.o.model, version: d.version, deviceId: d.id };
    const events: Event[] = [];
    for (let i = 0; i < 2; i++) {
      const label = String(Math.floor(Math.random() * 10));
      const p = 0.3 + Math.random() * 0.6;
      events.push({
        ...base,
        id: newId(),
        ts: Date.now(),
        type: 'prediction',
        reason: p < 0.6 ? 'low_confidence' : 'sample',
        inputHash: [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join(''),
        output: { label, confidence: p, topK: [{ label, p }] },
        engine: 'soak',
        latencyMs: 2,
      });
      this.counts.predictions++;
    }
    if (Math.random() < this.o.correctionRate) {
      const i = this.#cursor++ % this.o.digits.count;
      events.push(
        ...(await reportedPair(this.o.digits, i, {
          ...base,
          output: { label: '0', confidence: 0.5, topK: [{ label: '0', p: 0.5 }] },
          engine: 'soak',
        })),
      );
      this.counts.corrections++;
    }
    if (d.ticks % 10 === 0) {
      const stats: StatsEvent = {
        ...base,
        id: newId(),
        ts: Date.now(),
        type: 'stats',
        from: Date.now() - 10 * this.o.tickMs,
        to: Date.now(),
        predictions: 20,
        lowConfidence: 10,
        corrections: 0,
        errors: 0,
        latencyMs: { p50: 2, p95: 3 },
        confidenceHist: [0, 0, 0, 4, 4, 4, 4, 4, 0, 0],
        labelCounts: { '1': 10, '7': 10 },
      };
      events.push(stats);
      this.counts.stats++;
    }
    for (const e of events) this.generated.add(e.id);
    await d.outbox.add(events);
  }
}
