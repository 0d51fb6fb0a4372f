import type { Storage } from '../index.js';
import { openPostgres, migratePostgres, guard, postgresRunner, type PostgresOptions } from './db.js';
import { eventMigrations, keySql, postgresEventStore } from './events.js';
import { keyStore } from '../keys.js';
import { labelMigrations, labelSql } from './labels.js';
import { labelStore } from '../labels.js';
import { batchMigrations, batchSql, freezeQueries } from './batches.js';
import { batchStore } from '../batches.js';
import { registryMigrations, registrySql, postgresBlobStore } from './registry.js';
import { registryStore } from '../registry.js';
import { rolloutMigrations, rolloutSql, postgresLeadership } from './rollout.js';
import { rolloutStore } from '../rollout.js';
import { metricsMigrations, postgresMetricsStore } from './metrics.js';
import { leaseMigrations, leaseSql } from './leases.js';
import { leaseStore } from '../leases.js';
import { partitionMigrations, postgresRetention } from './partitions.js';

/** Every table group's migrations, in order. */
const migrations = [
  ...eventMigrations,
  ...labelMigrations,
  ...batchMigrations,
  ...registryMigrations,
  ...rolloutMigrations,
  ...metricsMigrations,
  ...leaseMigrations,
  ...partitionMigrations,
];

/** The scale-out store: PostgreSQL, shared by any number of collectors. */
export function createPostgresStorage(options: PostgresOptions): Storage {
  const pool = openPostgres(options);
  const schema = options.schema ?? 'public';
  let closed = false;
  const runner = postgresRunner(pool);
  const leadership = postgresLeadership(options);
  const retention = postgresRetention(pool, schema);
  return {
    kind: 'postgres',
    async migrate() {
      await migratePostgres(pool, schema, migrations);
      await retention.ensurePartitions(Date.now());
    },
    async ping() {
      await guard(() => pool.query('SELECT 1'));
    },
    async close() {
      if (closed) return;
      closed = true;
      await leadership.close();
      await pool.end();
    },
    events: postgresEventStore(pool),
    keys: keyStore(runner, keySql),
    labels: labelStore(runner, labelSql),
    batches: batchStore(runner, batchSql, freezeQueries),
    registry: registryStore(runner, registrySql),
    blobs: postgresBlobStore(pool),
    rollout: rolloutStore(runner, rolloutSql, leadership),
    metrics: postgresMetricsStore(pool),
    leases: leaseStore(runner, leaseSql),
    retention,
  };
}
