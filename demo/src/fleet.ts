/**
 * Simulated users: a population of devices, each a real runtime (`createRuntime` with its own device id, so each
 * falls in its own canary bucket) that draws real MNIST digits in the chosen style, predicts, and reports a wrong
 * prediction with its true label at the chosen rate. The collector sees their events, manifests and stats as it
 * would see real devices'; the fleet keeps its own tally (it knows the true labels) to chart the correction rate.
 */
import { createRuntime, type Runtime } from '@edgeloop/runtime';
import { bucketOf } from '@edgeloop/protocol';
import type { DigitBook, Style } from './digits.js';

export interface FleetOptions {
  collector: string;
  key: string;
  model: string;
  /** Prefix of the simulated device ids (`<prefix>-<n>`): kept per browser, so the same users come back. */
  idPrefix: string;
  /** Where TF.js fetches its WebAssembly (as the page's own runtime). */
  wasmPaths?: { ort?: string; tfjs?: string };
  /** Manifest poll interval of each simulated device (ms). */
  pollIntervalMs: number;
  /** Stats window of each simulated device (ms): the collector's canary analysis counts predictions from these. */
  statsWindowMs: number;
  /** Width of one point of the correction-rate series (ms). */
  windowMs: number;
}

/** What the fleet tells of one simulated device. */
export interface SimDevice {
  id: string;
  bucket: number;
  version: string | null;
  channel: 'stable' | 'canary' | null;
  predictions: number;
  wrong: number;
  reported: number;
}

/** Counts over one window of the series. */
export interface Tally {
  predictions: number;
  wrong: number;
  reported: number;
}

/** One point of the series: per channel, and per version. */
export interface FleetWindow {
  from: number;
  all: Tally;
  stable: Tally;
  canary: Tally;
}

interface User extends SimDevice {
  rt: Runtime;
  stopped: boolean;
  /** The user's drawing loop while it runs (one per user, however often the fleet is started and stopped). */
  loop: Promise<void> | null;
}

const tally = (): Tally => ({ predictions: 0, wrong: 0, reported: 0 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SimulatedFleet {
  style: Style = 'plain';
  /** Probability that a user who sees a wrong prediction reports it (with the true label). */
  reportRate = 0.5;
  /** Mean time between two drawings of one user (ms). */
  drawEveryMs = 1000;
  readonly #users: User[] = [];
  readonly #windows: FleetWindow[] = [];
  readonly #byVersion = new Map<string, Tally>();
  #running = false;
  #resizing: Promise<void> = Promise.resolve();
  #errors: string[] = [];

  constructor(
    readonly book: DigitBook,
    readonly options: FleetOptions,
  ) {}

  get running(): boolean {
    return this.#running;
  }

  /** The simulated devices, in order. */
  devices(): SimDevice[] {
    return this.#users.map(({ rt: _rt, stopped: _s, loop: _l, ...d }) => ({ ...d }));
  }

  /** The correction-rate series, oldest first. */
  windows(): FleetWindow[] {
    return this.#windows.map((w) => structuredClone(w));
  }

  /** Totals per version since the fleet started. */
  versions(): Record<string, Tally> {
    return Object.fromEntries([...this.#byVersion].map(([v, t]) => [v, { ...t }]));
  }

  /** The last errors the simulated runtimes raised (newest last). */
  errors(): string[] {
    return [...this.#errors];
  }

  /** Grows or shrinks the population to `n` devices (new ones start drawing if the fleet runs). */
  resize(n: number): Promise<void> {
    this.#resizing = this.#resizing.then(async () => {
      while (this.#users.length > n) {
        const u = this.#users.pop()!;
        u.stopped = true;
        await u.loop;
        await u.rt.dispose();
      }
      // One at a time: each loads its model (the artifacts come from the Cache API after the first).
      while (this.#users.length < n) {
        const id = `${this.options.idPrefix}-${this.#users.length + 1}`;
        const rt = await createRuntime({
          collector: this.options.collector,
          key: this.options.key,
          model: this.options.model,
          deviceId: id,
          engine: 'ort-wasm',
          pollIntervalMs: this.options.pollIntervalMs,
          statsWindowMs: this.options.statsWindowMs,
          ...(this.options.wasmPaths ? { wasmPaths: this.options.wasmPaths } : {}),
        });
        rt.on('error', (e) => this.#error(`${id}: ${e.code} ${e.message}`));
        const s = rt.status();
        const user: User = {
          id,
          bucket: bucketOf(this.options.model, id),
          version: s.version,
          channel: s.channel,
          predictions: 0,
          wrong: 0,
          reported: 0,
          rt,
          stopped: false,
          loop: null,
        };
        rt.on('swap', (e) => {
          user.version = e.to;
          user.channel = e.channel;
        });
        this.#users.push(user);
        if (this.#running) this.#launch(user);
      }
    });
    return this.#resizing;
  }

  /** Every user starts drawing. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (const u of this.#users) this.#launch(u);
  }

  /**
   * Every user stops after the drawing in hand; resolves once they all have (their reports stored). Their
   * runtimes keep polling, so versions keep showing.
   */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#users.map((u) => u.loop));
  }

  /** Sends what every simulated device has queued; resolves when done. */
  async flush(): Promise<void> {
    for (const u of this.#users) await u.rt.flush();
  }

  /** Stops and disposes every simulated device. */
  async dispose(): Promise<void> {
    await this.stop();
    await this.resize(0);
  }

  #launch(u: User): void {
    u.loop ??= this.#play(u).finally(() => (u.loop = null));
  }

  async #play(u: User): Promise<void> {
    // Users do not draw in step: each waits a random part of the interval first.
    await sleep(Math.random() * this.drawEveryMs);
    while (this.#running && !u.stopped) {
      try {
        await this.#draw(u);
      } catch (err) {
        this.#error(`${u.id}: ${(err as Error).message}`);
      }
      await sleep(this.drawEveryMs * (0.5 + Math.random()));
    }
  }

  async #draw(u: User): Promise<void> {
    const { input, label } = this.book.digit(Math.floor(Math.random() * this.book.count), this.style);
    const p = await u.rt.predict(input);
    const wrong = p.label !== label;
    const report = wrong && Math.random() < this.reportRate;
    // Counted before the report is stored: a report that fails is an error, not a silent miss.
    u.version = p.version;
    u.channel = p.channel;
    u.predictions++;
    if (wrong) u.wrong++;
    const w = this.#window();
    let v = this.#byVersion.get(p.version);
    if (!v) this.#byVersion.set(p.version, (v = tally()));
    for (const t of [w.all, w[p.channel], v]) {
      t.predictions++;
      if (wrong) t.wrong++;
      if (report) t.reported++;
    }
    if (report) {
      u.reported++;
      await u.rt.reportWrongResult(p.id, label);
    }
  }

  #window(): FleetWindow {
    const from = Math.floor(Date.now() / this.options.windowMs) * this.options.windowMs;
    let w = this.#windows.at(-1);
    if (!w || w.from !== from) {
      w = { from, all: tally(), stable: tally(), canary: tally() };
      this.#windows.push(w);
      if (this.#windows.length > 120) this.#windows.shift();
    }
    return w;
  }

  #error(message: string): void {
    this.#errors.push(message);
    if (this.#errors.length > 20) this.#errors.shift();
  }
}
