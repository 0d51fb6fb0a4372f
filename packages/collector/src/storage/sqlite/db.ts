/**
 * The embedded store's connection: one SQLite file in WAL mode with `synchronous=FULL`, because a device deletes
 * its copy of an event as soon as we ack it. better-sqlite3 is synchronous; calls are short and batched.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { StorageUnavailableError } from '../types.js';
import type { Migration } from '../migrations.js';
import { driveSync, type Runner, type Step } from '../steps.js';

export type SqliteDb = Database.Database;

export interface SqliteOptions {
  /** Path of the database file; `:memory:` only for throwaway use. */
  path: string;
  /** Milliseconds a writer waits on a locked database before giving up with 503. */
  busyTimeoutMs?: number;
  /** SQLite page cache in KiB. Default 65536 (64 MiB). */
  cacheKiB?: number;
  /** Milliseconds between passive WAL checkpoints (0 disables the timer). */
  checkpointEveryMs?: number;
}

// Codes that mean "the database cannot serve us right now" rather than "this query is wrong".
const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|CORRUPT|NOTADB|PROTOCOL|NOMEM)/;

/**
 * Runs `fn`, turning SQLite's availability errors into `StorageUnavailableError`: an error code that says the
 * database cannot serve now, or, with `db` given, a connection that is closed (told by the connection's own state,
 * not by the error's text).
 */
export function guard<T>(fn: () => T, db?: { readonly open: boolean }): T {
  try {
    return fn();
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    const closed = db !== undefined && !db.open;
    if (UNAVAILABLE.test(code) || closed) {
      throw new StorageUnavailableError(
        `sqlite: ${code || (closed ? 'the database connection is closed' : (err as Error).message)}`,
        { cause: err },
      );
    }
    throw err;
  }
}

export function openSqlite(options: SqliteOptions): SqliteDb {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  const db = guard(() => new Database(options.path));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 2000}`);
  db.pragma('foreign_keys = ON');
  // 64 MiB of page cache (the default is 2 MiB): ingest inserts into indexes on random keys (event id, input hash),
  // and a cache that holds their B-tree pages turns most of those inserts from page reads into memory writes.
  db.pragma(`cache_size = -${options.cacheKiB ?? 65536}`);
  // Checkpoint every 4,000 WAL pages (16 MiB) rather than SQLite's 1,000: the index pages a commit dirties are
  // mostly dirtied again by the next ones, and a longer WAL copies each of them back to the database file once
  // per checkpoint instead of every few commits (BENCHMARKS.md, "Tuning choices", has the measured gain).
  db.pragma('wal_autocheckpoint = 4000');
  return db;
}

/** Applies the migrations not yet recorded in `schema_migrations`, each in its own transaction. */
export function migrateSqlite(db: SqliteDb, migrations: readonly Migration[]): void {
  guard(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
    const applied = new Set(db.prepare('SELECT name FROM schema_migrations').pluck().all() as string[]);
    const record = db.prepare('INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)');
    for (const m of migrations) {
      if (applied.has(m.name)) continue;
      db.transaction(() => {
        db.exec(m.sql);
        record.run(m.name, Date.now());
      }).immediate();
    }
  });
}

/** Starts passive WAL checkpoints every `ms`; returns the stopper. */
export function startCheckpoints(db: SqliteDb, ms: number): () => void {
  if (ms <= 0) return () => {};
  const timer = setInterval(() => {
    try {
      if (db.open) db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // A busy checkpoint is retried on the next tick; it never affects acked data.
    }
  }, ms);
  timer.unref();
  return () => clearInterval(timer);
}

const connections = new WeakMap<object, SqliteDb>();

/** Records that `owner` (a store object) runs on `db`. */
export function rememberConnection<T extends object>(db: SqliteDb, owner: T): T {
  connections.set(owner, db);
  return owner;
}

/** The SQLite connection behind an opened, migrated store (for benchmarks and fault tests); undefined on PostgreSQL. */
export function sqliteConnection(storage: { readonly kind: string; readonly events: object }): SqliteDb | undefined {
  return storage.kind === 'sqlite' ? connections.get(storage.events) : undefined;
}

/** Runs feature algorithms on `db`: each statement prepared once, writes in an immediate transaction. */
export function sqliteRunner(db: SqliteDb): Runner {
  const prepared = new Map<string, Database.Statement>();
  const exec = (step: Step): unknown => {
    let statement = prepared.get(step.sql);
    if (!statement) prepared.set(step.sql, (statement = db.prepare(step.sql)));
    const params = Array.isArray(step.params) ? step.params : [step.params];
    if (step.kind === 'rows') return statement.raw(true).all(...params);
    if (step.kind === 'run') return statement.run(...params).changes;
    return step.kind === 'get' ? statement.get(...params) : statement.all(...params);
  };
  return {
    read: async (steps) => guard(() => driveSync(steps, exec), db),
    write: async (steps) => guard(() => db.transaction(() => driveSync(steps, exec)).immediate(), db),
    // A deferred transaction that only reads: one WAL snapshot, and writers are not held up.
    snapshot: async (steps) => guard(() => db.transaction(() => driveSync(steps, exec)).deferred(), db),
  };
}
