/** SQL for the `training_leases` table on SQLite. */
import type { Migration } from '../migrations.js';
import { leaseTable, SQLITE_TYPES } from '../schema.js';
import type { LeaseSql } from '../leases.js';

export const leaseMigrations: Migration[] = [{ name: '301_training_leases', sql: leaseTable(SQLITE_TYPES) }];

const select = 'SELECT * FROM training_leases WHERE model = ?';

export const leaseSql: LeaseSql = {
  get: select,
  // Every write runs in an immediate transaction, which already holds the file's write lock: no other claim is
  // between this read and the write after it.
  lockOrSkip: select,
  lock: select,
  insert: `
    INSERT INTO training_leases (model, lease_id, holder, acquired_at, expires_at, attempt, released_at)
    VALUES (@model, @lease_id, @holder, @now, @expires_at, 1, NULL) ON CONFLICT (model) DO NOTHING`,
  take: `
    UPDATE training_leases SET lease_id = @lease_id, holder = @holder, acquired_at = @now, expires_at = @expires_at,
      attempt = @attempt, released_at = NULL
    WHERE model = @model`,
  extend: 'UPDATE training_leases SET expires_at = @expires_at WHERE model = @model AND lease_id = @lease_id',
  release: 'UPDATE training_leases SET released_at = @now WHERE model = @model AND lease_id = @lease_id',
  known: 'SELECT model FROM training_leases WHERE model IN (SELECT value FROM json_each(@models))',
  nextFree: `
    SELECT * FROM training_leases
    WHERE model IN (SELECT value FROM json_each(@models)) AND (released_at IS NOT NULL OR expires_at <= @now)
    ORDER BY COALESCE(released_at, expires_at), model LIMIT 1`,
};
