/** SQL for the `training_leases` table on SQLite. */
import type { Migration } from '../migrations.js';
import { leaseTable, SQLITE_TYPES } from '../schema.js';
import { COMMON_LEASE_SQL, type LeaseSql } from '../leases.js';

export const leaseMigrations: Migration[] = [{ name: '301_training_leases', sql: leaseTable(SQLITE_TYPES) }];

export const leaseSql: LeaseSql = {
  ...COMMON_LEASE_SQL,
  // Every write runs in an immediate transaction, which already holds the file's write lock: no other claim is
  // between this read and the write after it.
  lockOrSkip: COMMON_LEASE_SQL.get,
  lock: COMMON_LEASE_SQL.get,
  known: 'SELECT model FROM training_leases WHERE model IN (SELECT value FROM json_each(@models))',
  nextFree: `
    SELECT * FROM training_leases
    WHERE model IN (SELECT value FROM json_each(@models)) AND (released_at IS NOT NULL OR expires_at <= @now)
    ORDER BY COALESCE(released_at, expires_at), model LIMIT 1`,
};
