/**
 * Group commit for the embedded store. With `synchronous=FULL` every commit costs an fsync, and better-sqlite3
 * blocks the event loop while it waits; so the writes that arrive while one commit runs are queued and committed
 * together in the next transaction. Each caller still resolves only after the commit that holds its rows.
 */
import { StorageUnavailableError } from '../types.js';

export class GroupCommit<T, R> {
  private queue: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;

  /** `commit` runs one transaction over all items and returns one result per item, in order. */
  constructor(private readonly commit: (items: T[]) => R[]) {}

  /** Queues `item` for the next group; resolves with its result once that group is committed. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate runs after the I/O callbacks of this loop turn: every request parsed meanwhile joins.
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything queued now (also called before the database is closed). */
  flush(): void {
    this.scheduled = false;
    const group = this.queue;
    this.queue = [];
    if (group.length === 0) return;
    try {
      const results = this.commit(group.map((g) => g.item));
      group.forEach((g, i) => g.resolve(results[i]!));
    } catch (err) {
      if (group.length === 1 || err instanceof StorageUnavailableError) {
        for (const g of group) g.reject(err);
        return;
      }
      // A write that is wrong in itself must not fail its neighbours: commit each one alone.
      for (const g of group) {
        try {
          g.resolve(this.commit([g.item])[0]!);
        } catch (e) {
          g.reject(e);
        }
      }
    }
  }
}
