/**
 * The runtime's one IndexedDB database: the outbox of events and a small key-value store (device id, sender
 * state, counters, last good manifest, chosen engine). Opened lazily; a connection the browser closes (site
 * data cleared, storage pressure) is reopened on next use.
 */
import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';

export const DB_NAME = 'edgeloop';
export const DB_VERSION = 1;

/** Drop classes: lower is kept longer when the queue is full. */
export const CLASS_CORRECTION = 0;
export const CLASS_OTHER = 1;
export const CLASS_SAMPLE = 2;
export type DropClass = typeof CLASS_CORRECTION | typeof CLASS_OTHER | typeof CLASS_SAMPLE;

export interface StoredEvent {
  /** The event id (UUIDv7, so key order is capture order). */
  id: string;
  /** Collector base URL the event goes to. */
  dest: string;
  cls: DropClass;
  /** UTF-8 size of `json`. */
  bytes: number;
  createdAt: number;
  /** The event, serialised once at capture. */
  json: string;
}

export interface SenderState {
  retryAt: number;
  failures: number;
}

export interface Counters {
  count: number;
  bytes: number;
  dropped: number;
}

export interface EdgeloopDB extends DBSchema {
  outbox: { key: string; value: StoredEvent; indexes: { byClass: [number, string] } };
  meta: { key: string; value: unknown };
}

export type Db = IDBPDatabase<EdgeloopDB>;
export type Tx<Mode extends IDBTransactionMode> = IDBPTransaction<EdgeloopDB, StoreNames<EdgeloopDB>[], Mode>;

/** Creates or migrates the schema (exported so tests and service workers open the same database). */
export function upgrade(db: IDBPDatabase<EdgeloopDB>, oldVersion: number): void {
  if (oldVersion < 1) {
    const outbox = db.createObjectStore('outbox', { keyPath: 'id' });
    outbox.createIndex('byClass', ['cls', 'id']);
    db.createObjectStore('meta');
  }
}

// Errors that mean the connection is gone, not that the request was wrong.
const CONNECTION_LOST = new Set(['InvalidStateError', 'UnknownError', 'AbortError', 'TransactionInactiveError']);

/** A lazily opened connection that reopens itself after the browser closes it. */
export class Database {
  #db: Promise<Db> | null = null;
  reopened = 0;

  readonly #name;

  constructor(name = DB_NAME) {
    this.#name = name;
  }

  /** The open connection (opening it on first use). */
  open(): Promise<Db> {
    if (!this.#db) {
      const opening = openDB<EdgeloopDB>(this.#name, DB_VERSION, {
        upgrade: (db, oldVersion) => upgrade(db, oldVersion),
        // Another tab wants a newer schema: let it, and reopen on our next use.
        blocking: () => this.#drop(opening),
        terminated: () => this.#drop(opening),
      });
      this.#db = opening;
      opening.catch(() => this.#drop(opening));
    }
    return this.#db;
  }

  /** Runs `work`; if the connection was lost under it, reopens once and runs it again. */
  async use<T>(work: (db: Db) => Promise<T>): Promise<T> {
    const db = await this.open();
    try {
      return await work(db);
    } catch (err) {
      if (!CONNECTION_LOST.has((err as DOMException)?.name)) throw err;
      this.#drop(this.#db);
      try {
        db.close();
      } catch {
        // already closed
      }
      this.reopened++;
      return work(await this.open());
    }
  }

  /** Reads a meta value. */
  getMeta<T>(key: string): Promise<T | undefined> {
    return this.use(async (db) => (await db.get('meta', key)) as T | undefined);
  }

  /** Writes a meta value. */
  setMeta(key: string, value: unknown): Promise<void> {
    return this.use(async (db) => {
      await db.put('meta', value, key);
    });
  }

  close(): void {
    const current = this.#db;
    this.#db = null;
    current?.then((db) => db.close()).catch(() => undefined);
  }

  #drop(which: Promise<Db> | null): void {
    if (this.#db === which) {
      this.#db = null;
      which?.then((db) => db.close()).catch(() => undefined);
    }
  }
}
