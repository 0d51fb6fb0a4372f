/**
 * Where ingest's inserts run on the embedded store. On a database file they run in a worker thread with its own
 * connection (`event-writer-thread.ts`), so the event loop never waits on an insert or an fsync: it parses and
 * validates the next requests while the writer commits. Writes that reach the writer while it commits are grouped
 * into its next transaction (`GroupCommit`), and each resolves only after the commit that holds its rows, so the
 * ack still follows the commit. An in-memory database (one connection only) is written on the calling thread,
 * grouped the same way.
 */
import { Worker } from 'node:worker_threads';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Event } from '@edgeloop/protocol';
import { StorageUnavailableError, type InsertResult } from '../types.js';
import { eventColumns } from '../event-columns.js';
import { guard, type SqliteDb, type SqliteOptions } from './db.js';
import { GroupCommit } from './group-commit.js';

export interface EventWriter {
  /** Stores the events whose id is new; resolves after the commit that holds them. */
  insert(events: Event[], receivedAt: number): Promise<InsertResult>;
  /** Announces a write whose body is still arriving (see `GroupCommit.expect`); call the result when it is in. */
  expect(): () => void;
  /** Runs a pragma on the writer's connection and returns its value (operations, and the disk-full fault test). */
  pragma(source: string): Promise<unknown>;
  /** Commits what is queued and closes the writer's connection. */
  close(): Promise<void>;
  /** Stops the writer thread at once, as a crash would (fault tests); only the thread writer has one. */
  terminate?(): Promise<void>;
}

/** One request's events as the values of their rows, `COLUMNS` per event in INSERT order. */
export interface Write {
  rows: unknown[];
}

const COLUMNS = 13;

/** `events` as a `Write`: built by the caller, so the writer thread gets plain values to bind. */
export function writeOf(events: readonly Event[], receivedAt: number): Write {
  const rows: unknown[] = new Array(events.length * COLUMNS);
  let i = 0;
  for (const e of events) {
    const c = eventColumns(e);
    rows[i++] = e.id;
    rows[i++] = e.model;
    rows[i++] = e.version;
    rows[i++] = e.deviceId;
    rows[i++] = e.type;
    rows[i++] = e.ts;
    rows[i++] = receivedAt;
    rows[i++] = c.inputHash;
    rows[i++] = c.predictionId;
    rows[i++] = c.label;
    rows[i++] = c.confidence;
    rows[i++] = c.reason;
    rows[i++] = JSON.stringify(e);
  }
  return { rows };
}

/** The transaction that stores a group of writes on `db`, one result per write (grouped: one fsync for all). */
export function groupInserter(db: SqliteDb): (writes: Write[]) => InsertResult[] {
  const insertOne = db.prepare(`
    INSERT INTO events (id, model, version, device_id, type, ts, received_at, input_hash, prediction_id, label, confidence, reason, body)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO NOTHING`);
  const insertGroup = db.transaction((writes: Write[]): InsertResult[] =>
    writes.map(({ rows }) => {
      let inserted = 0;
      // The values passed one by one, not as a slice per row: no array per row to allocate (BENCHMARKS.md).
      for (let i = 0; i < rows.length; i += COLUMNS) {
        inserted += insertOne.run(
          rows[i],
          rows[i + 1],
          rows[i + 2],
          rows[i + 3],
          rows[i + 4],
          rows[i + 5],
          rows[i + 6],
          rows[i + 7],
          rows[i + 8],
          rows[i + 9],
          rows[i + 10],
          rows[i + 11],
          rows[i + 12],
        ).changes;
      }
      return { inserted, duplicates: rows.length / COLUMNS - inserted };
    }),
  );
  return (writes) => guard(() => insertGroup.immediate(writes));
}

/** Writes on `db` from the calling thread (an in-memory database). */
export function inlineWriter(db: SqliteDb): EventWriter {
  const group = new GroupCommit(groupInserter(db));
  return {
    insert: (events, receivedAt) => group.submit(writeOf(events, receivedAt)),
    expect: () => group.expect(),
    pragma: async (source) => guard(() => db.pragma(source, { simple: true })),
    close: async () => group.flush(),
  };
}

/** Messages to the writer thread; each call is answered by a `WriterReply` with the same id. */
export type WriterCall =
  | { type: 'write'; id: number; rows: unknown[] }
  | { type: 'expect'; id: number }
  | { type: 'arrived'; id: number }
  | { type: 'pragma'; id: number; source: string }
  | { type: 'close'; id: number };

export type WriterReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { message: string; code?: string; unavailable: boolean } };

/** What the writer thread opens: the store's options with the writer's own busy timeout. */
export type WriterData = SqliteOptions & { busyTimeoutMs: number };

// The thread's entry next to this file: `.ts` when the collector runs from source, `.js` when built.
const ENTRY = new URL(`./event-writer-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

function startThread(workerData: WriterData): Worker {
  if (ENTRY.pathname.endsWith('.js')) return new Worker(ENTRY, { workerData });
  // From TypeScript source: Node 20 does not apply the parent's loader hooks to a worker, so the thread first
  // imports the loader module the host names (a checkout's bin and test runner name theirs); the collector
  // itself depends on no TypeScript loader.
  const preload = process.env.EDGELOOP_THREAD_IMPORT;
  if (!preload) {
    throw new StorageUnavailableError(
      'sqlite: the collector runs from TypeScript source and EDGELOOP_THREAD_IMPORT names no loader for its writer thread: build it (npm run build) or start it through its bin',
    );
  }
  const boot = `import(${JSON.stringify(preload)}).then(() => import(${JSON.stringify(ENTRY.href)}))`;
  return new Worker(boot, { eval: true, workerData });
}

// The writer waits on a lock without holding up anything else, so it may wait out a freeze (seconds at 1M events).
const WRITER_BUSY_TIMEOUT_MS = 10_000;

/** Writes in a worker thread with its own connection to the database file. */
export class ThreadWriter implements EventWriter {
  #worker: Worker | undefined;
  readonly #calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  #next = 0;
  #closed = false;
  readonly #data: WriterData;

  constructor(options: SqliteOptions) {
    this.#data = { ...options, busyTimeoutMs: options.busyTimeoutMs ?? WRITER_BUSY_TIMEOUT_MS, checkpointEveryMs: 0 };
  }

  insert(events: Event[], receivedAt: number): Promise<InsertResult> {
    // Flat row values clone quickly and leave the writer only the binding, the insert and the commit.
    return this.#call({ type: 'write', rows: writeOf(events, receivedAt).rows }) as Promise<InsertResult>;
  }

  expect(): () => void {
    if (this.#closed) return () => {};
    const id = ++this.#next;
    const worker = this.#start();
    worker.postMessage({ type: 'expect', id } satisfies WriterCall);
    let arrived = false;
    return () => {
      if (arrived) return;
      arrived = true;
      if (this.#worker === worker) worker.postMessage({ type: 'arrived', id } satisfies WriterCall);
    };
  }

  pragma(source: string): Promise<unknown> {
    return this.#call({ type: 'pragma', source });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    if (!worker) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    await this.#call({ type: 'close' }).catch(() => undefined);
    await exited;
  }

  async terminate(): Promise<void> {
    await this.#worker?.terminate();
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = startThread(this.#data);
    worker.unref();
    worker.on('message', (reply: WriterReply) => {
      const call = this.#calls.get(reply.id);
      if (!call) return;
      this.#calls.delete(reply.id);
      // Idle, the writer does not keep the process alive; closing, it does until it has exited.
      if (this.#calls.size === 0 && !this.#closed) worker.unref();
      if (reply.ok) call.resolve(reply.value);
      else
        call.reject(
          reply.error.unavailable
            ? new StorageUnavailableError(reply.error.message)
            : Object.assign(new Error(reply.error.message), { code: reply.error.code }),
        );
    });
    // A writer that dies (it could not open the file, or crashed) fails what it held as "storage unavailable"
    // (503: the devices send again); the next write starts a new one.
    worker.on('error', (err) => this.#lost(worker, err));
    worker.on('exit', (code) => this.#lost(worker, new Error(`the writer thread exited with code ${code}`)));
    this.#worker = worker;
    return worker;
  }

  #lost(worker: Worker, err: Error): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    const calls = [...this.#calls.values()];
    this.#calls.clear();
    for (const c of calls) c.reject(new StorageUnavailableError(`sqlite: ${err.message}`, { cause: err }));
  }

  #call(
    message: { type: 'write'; rows: unknown[] } | { type: 'pragma'; source: string } | { type: 'close' },
  ): Promise<unknown> {
    if (this.#closed && message.type !== 'close')
      return Promise.reject(new StorageUnavailableError('sqlite: the store is closed'));
    const worker = this.#start();
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ ...message, id } as WriterCall);
    });
  }
}
