import type { Storage } from '../index.js';
import { inOrder } from '../migrations.js';
import { openPostgres, migratePostgres, guard, postgresRunner, type PostgresOptions } from './db.js';
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
import { partitionMigrations, postgresRetention } from './partitions.js';

/** Every table group's migrations, in the order `inOrder` gives; then events' partitioning (PostgreSQL only). */
const migrations = [
  ...inOrder({ events, labels, batches, registry, rollout, metrics, leases }),
  ...partitionMigrations,
];

/** The scale-out store: PostgreSQL, shared by any number of collectors. */
export function createPostgresStorage(options: PostgresOptions): Storage {
  const pool = openPostgres(options);
  const schema = options.schema ?? 'public';
  let closed = false;
  const runner = postgresRunner(pool);
  const leadership = rollout.postgresLeadership(options);
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
    events: events.postgresEventStore(pool),
    keys: keyStore(runner),
    labels: labelStore(runner, labels.labelSql),
    batches: batchStore(runner, batches.batchSql, batches.freezeQueries),
    registry: registryStore(runner, registry.registrySql),
    blobs: registry.postgresBlobStore(pool),
    rollout: rolloutStore(runner, rollout.rolloutSql, leadership),
    metrics: metrics.postgresMetricsStore(pool),
    leases: leaseStore(runner, leases.leaseSql),
    retention,
  };
}
