import type { Storage } from '../index.js';
import { openPostgres, migratePostgres, guard, type PostgresOptions } from './db.js';
import { eventMigrations, postgresEventStore, postgresKeyStore } from './events.js';

/** Every table group's migrations, in order. */
const migrations = [...eventMigrations];

/** The scale-out store: PostgreSQL, shared by any number of collectors. */
export function createPostgresStorage(options: PostgresOptions): Storage {
  const pool = openPostgres(options);
  const schema = options.schema ?? 'public';
  let closed = false;
  return {
    kind: 'postgres',
    async migrate() {
      await migratePostgres(pool, schema, migrations);
    },
    async ping() {
      await guard(() => pool.query('SELECT 1'));
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
    events: postgresEventStore(pool),
    keys: postgresKeyStore(pool),
  };
}
