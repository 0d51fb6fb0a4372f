/**
 * The Outbox: events are stored in IndexedDB before anything is sent, and deleted only after the collector
 * committed them (2xx) or refused them for good (400/401/403/413/422, dropped and counted). One sender per
 * origin at a time (Web Locks); backoff with jitter and `Retry-After` are shared by every tab through the
 * database, so nothing is sent early from any of them.
 */
import type { Event } from '@edgeloop/protocol';
import type { OutboxOptions, OutboxStatus } from '../types.js';
import {
  CLASS_CORRECTION,
  CLASS_OTHER,
  CLASS_SAMPLE,
  type Counters,
  type Database,
  type DropClass,
  type SenderState,
  type StoredEvent,
  type Tx,
} from './db.js';
import { backoffMs, batchBody, postEvents, type Destination } from './transport.js';

export const OUTBOX_DEFAULTS: Required<OutboxOptions> = {
  batchEvents: 10,
  flushIntervalMs: 5000,
  maxRequestBytes: 450_000,
  maxEventBytes: 32_000,
  maxEvents: 1000,
  maxBytes: 5_000_000,
  baseDelayMs: 3000,
  maxDelayMs: 30 * 60_000,
  defaultRetryAfterMs: 60_000,
  timeoutMs: 30_000,
  maxAgeMs: 7 * 24 * 3600_000,
  unloadBytes: 54_000,
};

const LOCK = 'edgeloop-outbox';
const SENDER = 'sender';
const COUNTERS = 'counters';
const MAX_EVENTS_PER_REQUEST = 500;
const encoder = new TextEncoder();

/** Tells the page which events are stored and not yet acknowledged, for the `pagehide` send. */
export interface OutboxObserver {
  queued?(items: { id: string; json: string; bytes: number }[]): void;
  settled?(ids: string[]): void;
  status?(status: OutboxStatus): void;
}

function dropClass(event: Event): DropClass {
  if (event.type === 'correction' || (event.type === 'prediction' && event.reason === 'reported'))
    return CLASS_CORRECTION;
  if (event.type === 'prediction' && event.reason === 'sample') return CLASS_SAMPLE;
  return CLASS_OTHER;
}

/** Serialises an event within the per-event limit: a captured input that does not fit is left out (its hash stays). */
export function serialise(event: Event, maxBytes: number): { json: string; bytes: number } | null {
  let json = JSON.stringify(event);
  let bytes = utf8Length(json);
  if (bytes > maxBytes && event.type === 'prediction' && event.input) {
    const { input: _dropped, ...rest } = event;
    json = JSON.stringify(rest);
    bytes = utf8Length(json);
  }
  return bytes > maxBytes ? null : { json, bytes };
}

/**
 * UTF-8 length of a string. Events are mostly ASCII (ids, base64 inputs): then it is the string's length, with no
 * encoded copy (an ArrayBuffer per event, which adds to the garbage collector's work while predictions run).
 */
function utf8Length(s: string): number {
  return NON_ASCII.test(s) ? encoder.encode(s).length : s.length;
}
// eslint-disable-next-line no-control-regex -- the ASCII range starts at NUL
const NON_ASCII = /[^\x00-\x7f]/;

export class Outbox {
  readonly options: Required<OutboxOptions>;
  readonly #state: OutboxStatus = {
    pending: 0,
    pendingBytes: 0,
    dropped: 0,
    sent: 0,
    failures: 0,
    retryAt: null,
    lastError: null,
  };
  #sinceFlush = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #flushing: Promise<OutboxStatus> | null = null;
  #again = false;
  #disposed = false;

  readonly #db: Database;
  readonly #dest: Destination;
  readonly #observer: OutboxObserver;

  constructor(db: Database, dest: Destination, options: OutboxOptions = {}, observer: OutboxObserver = {}) {
    this.#db = db;
    this.#dest = dest;
    this.#observer = observer;
    this.options = { ...OUTBOX_DEFAULTS, ...options };
  }

  /** Stores events (never throws: a full disk or quota drops and counts instead) and schedules a send. */
  async add(events: Event[]): Promise<void> {
    const now = Date.now();
    const records: StoredEvent[] = [];
    let tooBig = 0;
    for (const event of events) {
      const s = serialise(event, this.options.maxEventBytes);
      if (!s) tooBig++;
      else
        records.push({
          id: event.id,
          dest: this.#dest.url,
          cls: dropClass(event),
          bytes: s.bytes,
          createdAt: now,
          json: s.json,
        });
    }
    if (records.length) this.#observer.queued?.(records.map(({ id, json, bytes }) => ({ id, json, bytes })));
    let lost: StoredEvent[] = [];
    try {
      if (records.length) lost = await this.#storeWithinQuota(records);
      if (lost.length) this.#state.lastError = `storage: QuotaExceededError (${lost.length} events did not fit)`;
    } catch (err) {
      this.#state.lastError = `storage: ${(err as Error).message || (err as Error).name}`;
      lost = records;
    }
    if (lost.length || tooBig) {
      if (lost.length) this.#observer.settled?.(lost.map((r) => r.id));
      const drops = lost.length + tooBig;
      // Counted in storage if storage still takes a small write; in this page's status in any case.
      await this.#counted(async (_, c) => void (c.dropped += drops)).catch(() => (this.#state.dropped += drops));
    }
    this.#publish();
    if (lost.length === records.length) return;
    this.#sinceFlush += records.length - lost.length;
    if (this.#sinceFlush >= this.options.batchEvents) void this.flush();
    else this.#schedule(Date.now() + this.options.flushIntervalMs);
  }

  /**
   * Stores `records`; when the origin is out of quota, evicts the oldest droppable events to make room and tries
   * again, and if they still do not all fit, stores them one at a time, corrections first. Returns those that did
   * not fit (the caller drops and counts them); other storage errors are thrown.
   */
  async #storeWithinQuota(records: StoredEvent[]): Promise<StoredEvent[]> {
    const quota = (err: unknown) => (err as DOMException | undefined)?.name === 'QuotaExceededError';
    try {
      await this.#store(records);
      return [];
    } catch (err) {
      if (!quota(err)) throw err;
    }
    await this.#counted((tx, c) =>
      evictAll(tx, c, Math.max(0, c.count - Math.max(records.length, Math.ceil(c.count / 4))), Infinity, false),
    );
    try {
      await this.#store(records);
      return [];
    } catch (err) {
      if (!quota(err) || records.length === 1) throw err;
    }
    const lost: StoredEvent[] = [];
    for (const r of [...records].sort((a, b) => a.cls - b.cls)) {
      await this.#store([r]).catch((err: unknown) => {
        if (!quota(err)) throw err;
        lost.push(r);
      });
    }
    return lost;
  }

  /** Sends everything due, one batch at a time, while holding the origin-wide sender lock. */
  flush(): Promise<OutboxStatus> {
    if (this.#disposed) return Promise.resolve(this.status());
    if (this.#flushing) {
      this.#again = true;
      return this.#flushing;
    }
    this.#sinceFlush = 0;
    const run = async (): Promise<OutboxStatus> => {
      try {
        do {
          this.#again = false;
          await withLock(() => this.#cycle());
        } while (this.#again && !this.#disposed);
      } catch (err) {
        this.#state.lastError = `outbox: ${(err as Error).message}`;
        this.#schedule(Date.now() + this.options.baseDelayMs);
      } finally {
        this.#flushing = null;
      }
      this.#publish();
      return this.status();
    };
    this.#flushing = run();
    return this.#flushing;
  }

  /**
   * The network is back (`online`): a backoff wait, which assumed the collector unreachable, ends now, and
   * everything due is sent. The failure count stays, so a collector that still fails backs off as before.
   */
  async online(): Promise<OutboxStatus> {
    if (this.#disposed) return this.status();
    await withLock(async () => {
      const sender = (await this.#db.getMeta<SenderState>(SENDER)) as SenderState | undefined;
      if (sender && sender.retryAt > Date.now()) await this.#setSender({ ...sender, retryAt: 0 });
    });
    clearTimeout(this.#timer);
    this.#timerAt = Infinity;
    return this.flush();
  }

  /** Counters (pending and dropped events, failures) and the last error. */
  status(): OutboxStatus {
    return { ...this.#state };
  }

  /** Reads and resets the number of events dropped since the last call (reported in the next `stats` event). */
  takeDropped(): Promise<number> {
    return this.#counted(async (_, c) => {
      const dropped = c.dropped;
      c.dropped = 0;
      return dropped;
    }, false);
  }

  /** Stops timers; stored events stay for the next start. */
  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#timer);
  }

  #publish(): void {
    this.#observer.status?.(this.status());
  }

  #schedule(at: number): void {
    if (this.#disposed || at >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timerAt = Infinity;
        void this.flush();
      },
      Math.max(0, at - Date.now()),
    );
  }

  /**
   * Runs `work` in one transaction over the events and their counters (count, bytes, drops), saves the counters
   * and reflects them in the status; drops made by `work` are added to this page's count unless `count` is false.
   */
  #counted<T>(work: (tx: Tx<'readwrite'>, c: Counters) => Promise<T>, count = true): Promise<T> {
    return this.#db.use(async (db) => {
      const tx = db.transaction(['outbox', 'meta'], 'readwrite');
      const meta = tx.objectStore('meta');
      const c = ((await meta.get(COUNTERS)) as Counters | undefined) ?? { count: 0, bytes: 0, dropped: 0 };
      const before = c.dropped;
      const out = await work(tx, c);
      await meta.put(c, COUNTERS);
      await tx.done;
      this.#state.pending = Math.max(0, c.count);
      this.#state.pendingBytes = Math.max(0, c.bytes);
      if (count) this.#state.dropped += Math.max(0, c.dropped - before);
      return out;
    });
  }

  /** One transaction: put the records, then evict past the bounds (sampled first, corrections last). */
  #store(records: StoredEvent[]): Promise<void> {
    return this.#counted(async (tx, c) => {
      const outbox = tx.objectStore('outbox');
      for (const r of records) {
        const old = await outbox.get(r.id);
        if (old) {
          // A second copy of an event (a prediction reported wrong) upgrades a queued one, never downgrades it.
          if (old.cls < r.cls) continue;
          c.count--;
          c.bytes -= old.bytes;
        }
        await outbox.put(r);
        c.count++;
        c.bytes += r.bytes;
      }
      const evicted = await evictAll(tx, c, this.options.maxEvents, this.options.maxBytes, true);
      if (evicted.length) this.#observer.settled?.(evicted);
    });
  }

  /** Sends batches until nothing is due; runs under the lock. */
  async #cycle(): Promise<void> {
    const sender = ((await this.#db.getMeta<SenderState>(SENDER)) ?? { retryAt: 0, failures: 0 }) as SenderState;
    this.#state.failures = sender.failures;
    if (sender.retryAt > Date.now()) {
      this.#state.retryAt = sender.retryAt;
      this.#schedule(sender.retryAt);
      return;
    }
    this.#state.retryAt = null;
    while (!this.#disposed) {
      const { batch, expired } = await this.#readBatch();
      // Expired events are dropped and counted, never sent.
      if (expired.length) await this.#settle(expired, expired.length);
      if (batch.length === 0 || !(await this.#send(batch))) return;
    }
  }

  /** Sends one batch; on 400/413/422 a batch of several is split so one poison event is refused alone. */
  async #send(batch: StoredEvent[]): Promise<boolean> {
    const outcome = await postEvents(
      this.#dest,
      batchBody(batch.map((e) => e.json)),
      this.options.timeoutMs,
      this.options.defaultRetryAfterMs,
    );
    if (outcome.kind === 'ok') {
      await this.#settle(batch, outcome.rejected);
      this.#state.sent += batch.length - outcome.rejected;
      if (this.#state.failures) await this.#setSender({ retryAt: 0, failures: 0 });
      this.#state.lastError = outcome.rejected ? `${outcome.rejected} event(s) rejected by the collector` : null;
      return true;
    }
    if (outcome.kind === 'drop') {
      if (batch.length > 1 && outcome.status !== 401 && outcome.status !== 403) {
        const half = Math.ceil(batch.length / 2);
        return (await this.#send(batch.slice(0, half))) && this.#send(batch.slice(half));
      }
      await this.#settle(batch, batch.length);
      this.#state.lastError = `HTTP ${outcome.status}: ${batch.length} event(s) dropped`;
      return true;
    }
    const failures = this.#state.failures + 1;
    // Retry-After is a floor, never a shortcut: "Retry-After: 0" from a struggling server still backs off.
    const wait = Math.max(
      outcome.retryAfterMs ?? 0,
      backoffMs(failures, this.options.baseDelayMs, this.options.maxDelayMs),
    );
    const retryAt = Date.now() + wait;
    await this.#setSender({ retryAt, failures });
    this.#state.lastError = outcome.error;
    this.#state.retryAt = retryAt;
    this.#schedule(retryAt);
    return false;
  }

  async #setSender(s: SenderState): Promise<void> {
    this.#state.failures = s.failures;
    await this.#db.setMeta(SENDER, s);
  }

  /** Deletes acknowledged (or refused) events and updates the counters in one transaction. */
  async #settle(batch: StoredEvent[], dropped: number): Promise<void> {
    await this.#counted(async (tx, c) => {
      const outbox = tx.objectStore('outbox');
      for (const e of batch) {
        if (await outbox.getKey(e.id)) {
          await outbox.delete(e.id);
          c.count--;
          c.bytes -= e.bytes;
        }
      }
      c.dropped += dropped;
    });
    this.#observer.settled?.(batch.map((e) => e.id));
  }

  /** The oldest stored events for this collector within the request limits, and those past `maxAgeMs`. */
  async #readBatch(): Promise<{ batch: StoredEvent[]; expired: StoredEvent[] }> {
    const { maxRequestBytes, maxAgeMs } = this.options;
    const oldest = Date.now() - maxAgeMs;
    return this.#db.use(async (db) => {
      const batch: StoredEvent[] = [];
      const expired: StoredEvent[] = [];
      let size = 14;
      let cursor = await db.transaction('outbox').store.openCursor();
      while (cursor) {
        const e = cursor.value;
        if (e.createdAt < oldest) expired.push(e);
        else if (e.dest === this.#dest.url) {
          if (batch.length > 0 && size + e.bytes + 1 > maxRequestBytes) break;
          batch.push(e);
          size += e.bytes + 1;
          if (batch.length >= MAX_EVENTS_PER_REQUEST) break;
        }
        cursor = await cursor.continue();
      }
      return { batch, expired };
    });
  }
}

/** Evicts the oldest events, sampled ones first, until the counters are within the bounds; corrections only if `all`. */
async function evictAll(
  tx: Tx<'readwrite'>,
  c: Counters,
  maxEvents: number,
  maxBytes: number,
  all: boolean,
): Promise<string[]> {
  const index = tx.objectStore('outbox').index('byClass');
  const ids: string[] = [];
  for (const cls of all ? [CLASS_SAMPLE, CLASS_OTHER, CLASS_CORRECTION] : [CLASS_SAMPLE, CLASS_OTHER]) {
    let cursor = await index.openCursor(IDBKeyRange.bound([cls, ''], [cls, '\uffff']));
    while (cursor && (c.count > maxEvents || c.bytes > maxBytes)) {
      c.count--;
      c.bytes -= cursor.value.bytes;
      c.dropped++;
      ids.push(cursor.value.id);
      await cursor.delete();
      cursor = await cursor.continue();
    }
  }
  return ids;
}

/** Runs `work` holding the origin-wide sender lock (Web Locks), so two tabs never send the same batch. */
function withLock(work: () => Promise<void>): Promise<void> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  return locks ? locks.request(LOCK, () => work()).then(() => undefined) : work();
}
