/**
 * What the page still owes the collector when it goes away: a copy of the events this page queued that are not
 * yet acknowledged, kept on the page's thread so `pagehide` can send them synchronously with keepalive.
 */
import { sendOnUnload, type Destination } from './transport.js';
import type { OutboxObserver } from './outbox.js';

interface Item {
  id: string;
  json: string;
  bytes: number;
}

export class UnloadQueue implements OutboxObserver {
  readonly #items = new Map<string, Item>();
  #bytes = 0;
  /** Set by the `pagehide` send: what is queued after it goes out at once (no later `pagehide` will send it). */
  #leaving: { dest: Destination; budgetBytes: number } | null = null;

  /** `limitBytes` bounds the copy (the oldest copies go first; they stay stored in IndexedDB). */
  readonly #limitBytes;

  constructor(limitBytes = 256_000) {
    this.#limitBytes = limitBytes;
  }

  queued(items: Item[]): void {
    for (const item of items) {
      const old = this.#items.get(item.id);
      if (old) {
        this.#items.delete(item.id);
        this.#bytes -= old.bytes;
      }
      this.#items.set(item.id, item);
      this.#bytes += item.bytes;
    }
    for (const [id, item] of this.#items) {
      if (this.#bytes <= this.#limitBytes) break;
      this.#items.delete(id);
      this.#bytes -= item.bytes;
    }
    // A prediction that resolves after `pagehide` (while the page is torn down) has no later chance to be sent.
    if (this.#leaving) sendOnUnload(this.#leaving.dest, items, this.#leaving.budgetBytes);
  }

  settled(ids: string[]): void {
    for (const id of ids) {
      const item = this.#items.get(id);
      if (item) {
        this.#items.delete(id);
        this.#bytes -= item.bytes;
      }
    }
  }

  get size(): number {
    return this.#items.size;
  }

  /**
   * Sends what fits in `budgetBytes` with keepalive, newest first; returns how many events went out. The newest
   * were queued last, and their IndexedDB writes may not commit before the page goes; older ones are stored, and
   * what does not fit goes at the next start. `final` (the page is going away): what is queued later goes at once.
   */
  send(dest: Destination, budgetBytes: number, final = true): number {
    if (final) this.#leaving = { dest, budgetBytes };
    return sendOnUnload(dest, [...this.#items.values()].reverse(), budgetBytes).length;
  }

  /** The page came back (back/forward cache): queued events wait for the outbox again. */
  back(): void {
    this.#leaving = null;
  }
}
