/**
 * SQL for the `training_leases` table on PostgreSQL. A claim, of one model or of the next free one among many, skips
 * a row another transaction has locked (`FOR UPDATE SKIP LOCKED`): that claimer is about to win it, so this one
 * answers "held" (or looks at the next model) at once instead of queueing behind it. Renew and release wait for the
 * lock instead: their answer depends on what that transaction commits.
 */
import type { Migration } from '../migrations.js';
import { leaseTable, POSTGRES_TYPES } from '../schema.js';
import { COMMON_LEASE_SQL, type LeaseSql } from '../leases.js';

export const leaseMigrations: Migration[] = [{ name: '301_training_leases', sql: leaseTable(POSTGRES_TYPES) }];

export const leaseSql: LeaseSql = {
  ...COMMON_LEASE_SQL,
  lockOrSkip: 'SELECT * FROM training_leases WHERE model = @model FOR UPDATE SKIP LOCKED',
  lock: 'SELECT * FROM training_leases WHERE model = @model FOR UPDATE',
  known: 'SELECT model FROM training_leases WHERE model = ANY(ARRAY(SELECT json_array_elements_text(@models::json)))',
  // The queue pattern: the free row waiting longest that no other transaction has locked.
  nextFree: `
    SELECT * FROM training_leases
    WHERE model = ANY(ARRAY(SELECT json_array_elements_text(@models::json)))
      AND (released_at IS NOT NULL OR expires_at <= @now)
    ORDER BY COALESCE(released_at, expires_at), model LIMIT 1
    FOR UPDATE SKIP LOCKED`,
};
