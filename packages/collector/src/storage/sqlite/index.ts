import type { Storage } from '../index.js';
import { openSqlite, migrateSqlite, startCheckpoints, guard, type SqliteDb, type SqliteOptions } from './db.js';
import { eventMigrations, sqliteEventStore, sqliteKeyStore } from './events.js';

/** Every table group's migrations, in order. */
const migrations = [...eventMigrations];

// Statements are prepared against migrated tables, so the feature stores are built on first use.
function buildStores(db: SqliteDb) {
  return {
    events: sqliteEventStore(db),
    keys: sqliteKeyStore(db),
  };
}

/** The embedded store: one SQLite file. */
export function createSqliteStorage(options: SqliteOptions): Storage {
  const db = openSqlite(options);
  let stores: ReturnType<typeof buildStores> | undefined;
  const get = () => (stores ??= buildStores(db));
  let stopCheckpoints = () => {};
  return {
    kind: 'sqlite',
    async migrate() {
      migrateSqlite(db, migrations);
      stopCheckpoints();
      stopCheckpoints = startCheckpoints(db, options.checkpointEveryMs ?? 30_000);
    },
    async ping() {
      guard(() => db.prepare('SELECT 1').get());
    },
    async close() {
      stopCheckpoints();
      if (db.open) db.close();
    },
    get events() {
      return get().events;
    },
    get keys() {
      return get().keys;
    },
  };
}
