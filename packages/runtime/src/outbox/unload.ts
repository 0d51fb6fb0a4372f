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

  /** Sends what fits in `budgetBytes` with keepalive; returns how many events went out. */
  send(dest: Destination, budgetBytes: number): number {
    return sendOnUnload(dest, [...this.#items.values()], budgetBytes).length;
  }
}
