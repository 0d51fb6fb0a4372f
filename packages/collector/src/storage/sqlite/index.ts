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
import { inOrder } from '../migrations.js';
import * as events from './events.js';
import { keyStore } from '../keys.js';
import * as labels from './labels.js';
import { labelStore } from '../labels.js';
import * as batches from './batches.js';
import { batchStore } from '../batches.js';
import * as registry from './registry.js';
import { registryStore } from '../registry.js';
import * as rollout from './rollout.js';
import { rolloutStore } from '../rollout.js';
import * as metrics from './metrics.js';
import * as leases from './leases.js';
import { leaseStore } from '../leases.js';
import { sqliteRetention } from './retention.js';
import { inlineWriter, ThreadWriter, type EventWriter } from './event-writer.js';

/** Every table group's migrations, in the order `inOrder` gives. */
const migrations = inOrder({ events, labels, batches, registry, rollout, metrics, leases });

// Statements are prepared against migrated tables, so the feature stores are built on first use.
function buildStores(db: SqliteDb, writer: EventWriter) {
  const runner = sqliteRunner(db);
  return {
    events: events.sqliteEventStore(db, writer),
    keys: keyStore(runner),
    labels: labelStore(runner, labels.labelSql),
    batches: batchStore(runner, batches.batchSql, batches.freezeQueries),
    registry: registryStore(runner, registry.registrySql),
    rollout: rolloutStore(runner, rollout.rolloutSql, rollout.sqliteLeadership(db)),
    metrics: metrics.sqliteMetricsStore(db),
    leases: leaseStore(runner, leases.leaseSql),
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
