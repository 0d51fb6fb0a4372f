/**
 * Group commit for the embedded store. With `synchronous=FULL` every commit costs an fsync, and better-sqlite3
 * blocks the event loop while it waits; so the writes that arrive while one commit runs are queued and committed
 * together in the next transaction. Each caller still resolves only after the commit that holds its rows.
 *
 * Writers may also announce themselves early (`expect()`, when a request's headers arrive): a flush then waits,
 * at most `maxWaitMs`, for the announced writers still parsing their bodies, so that they share the commit
 * instead of each paying for an fsync (PostgreSQL's `commit_delay` idea, but only when someone is on the way).
 */
import { StorageUnavailableError } from '../types.js';

export interface GroupCommitOptions {
  /** Longest a flush waits for announced writers. Default 2 ms. */
  maxWaitMs?: number;
}

export class GroupCommit<T, R> {
  private queue: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private firstQueuedAt = 0;
  private announced = 0;
  private readonly maxWaitMs: number;

  /** `commit` runs one transaction over all items and returns one result per item, in order. */
  constructor(
    private readonly commit: (items: T[]) => R[],
    options: GroupCommitOptions = {},
  ) {
    this.maxWaitMs = options.maxWaitMs ?? 2;
  }

  /** Announces a write on its way; call the returned function once it is submitted or abandoned (idempotent). */
  expect(): () => void {
    this.announced++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.announced--;
      if (this.announced === 0 && this.timer) {
        // Everyone announced has arrived: no reason to wait any longer.
        clearTimeout(this.timer);
        this.timer = undefined;
        setImmediate(() => this.flush());
      }
    };
  }

  /** Queues `item` for the next group; resolves with its result once that group is committed. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        this.firstQueuedAt = performance.now();
        // setImmediate runs after the I/O callbacks of this loop turn: every request parsed meanwhile joins.
        setImmediate(() => this.maybeFlush());
      }
    });
  }

  private maybeFlush(): void {
    if (!this.scheduled || this.timer) return;
    const waited = performance.now() - this.firstQueuedAt;
    if (this.announced > 0 && waited < this.maxWaitMs) {
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          this.flush();
        },
        Math.max(1, Math.ceil(this.maxWaitMs - waited)),
      );
      return;
    }
    this.flush();
  }

  /** Commits everything queued now (also called before the database is closed). */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
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
