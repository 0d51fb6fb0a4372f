import type { Storage } from '../index.js';
import {
  openSqlite,
  migrateSqlite,
  startCheckpoints,
  guard,
  sqliteConnection,
  sqliteRunner,
  type SqliteDb,
  type SqliteOptions,
} from './db.js';
import { eventMigrations, keySql, sqliteEventStore } from './events.js';
import { keyStore } from '../keys.js';
import { labelMigrations, labelSql } from './labels.js';
import { labelStore } from '../labels.js';
import { batchMigrations, batchSql, freezeQueries } from './batches.js';
import { batchStore } from '../batches.js';
import { registryMigrations, registrySql } from './registry.js';
import { registryStore } from '../registry.js';
import { rolloutMigrations, rolloutSql, sqliteLeadership } from './rollout.js';
import { rolloutStore } from '../rollout.js';
import { metricsMigrations, sqliteMetricsStore } from './metrics.js';
import { leaseMigrations, leaseSql } from './leases.js';
import { leaseStore } from '../leases.js';
import { sqliteRetention } from './retention.js';
import { inlineWriter, ThreadWriter, type EventWriter } from './event-writer.js';

/** Every table group's migrations, in order. */
const migrations = [
  ...eventMigrations,
  ...labelMigrations,
  ...batchMigrations,
  ...registryMigrations,
  ...rolloutMigrations,
  ...metricsMigrations,
  ...leaseMigrations,
];

// Statements are prepared against migrated tables, so the feature stores are built on first use.
function buildStores(db: SqliteDb, writer: EventWriter) {
  const runner = sqliteRunner(db);
  return {
    events: sqliteEventStore(db, writer),
    keys: keyStore(runner, keySql),
    labels: labelStore(runner, labelSql),
    batches: batchStore(runner, batchSql, freezeQueries),
    registry: registryStore(runner, registrySql),
    rollout: rolloutStore(runner, rolloutSql, sqliteLeadership(db)),
    metrics: sqliteMetricsStore(db),
    leases: leaseStore(runner, leaseSql),
    retention: sqliteRetention(db),
  };
}

const writers = new WeakMap<SqliteDb, EventWriter>();

/** The ingest writer of an opened SQLite store (`pragma()` reaches its own connection; for fault tests). */
export function sqliteEventWriter(storage: Storage): EventWriter | undefined {
  const db = sqliteConnection(storage);
  return db && writers.get(db);
}

/** The embedded store: one SQLite file. */
export function createSqliteStorage(options: SqliteOptions): Storage {
  const db = openSqlite(options);
  // Ingest writes from a thread of their own (one connection is all an in-memory database has).
  const writer = options.path === ':memory:' ? inlineWriter(db) : new ThreadWriter(options);
  writers.set(db, writer);
  let stores: ReturnType<typeof buildStores> | undefined;
  const get = () => (stores ??= buildStores(db, writer));
  let stopCheckpoints = () => {};
  return {
    kind: 'sqlite',
    async migrate() {
      migrateSqlite(db, migrations);
      stopCheckpoints();
      stopCheckpoints = startCheckpoints(db, options.checkpointEveryMs ?? 30_000);
    },
    async ping() {
      guard(() => db.prepare('SELECT 1').get(), db);
    },
    async close() {
      stopCheckpoints();
      await writer.close();
      if (db.open) db.close();
    },
    get events() {
      return get().events;
    },
    get keys() {
      return get().keys;
    },
    get labels() {
      return get().labels;
    },
    get batches() {
      return get().batches;
    },
    get registry() {
      return get().registry;
    },
    blobs: null,
    get rollout() {
      return get().rollout;
    },
    get metrics() {
      return get().metrics;
    },
    get leases() {
      return get().leases;
    },
    get retention() {
      return get().retention;
    },
  };
}
