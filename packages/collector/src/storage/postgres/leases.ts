/**
 * SQL for the `training_leases` table on PostgreSQL. A claim, of one model or of the next free one among many, skips
 * a row another transaction has locked (`FOR UPDATE SKIP LOCKED`): that claimer is about to win it, so this one
 * answers "held" (or looks at the next model) at once instead of queueing behind it. Renew and release wait for the
 * lock instead: their answer depends on what that transaction commits.
 */
import type { Migration } from '../migrations.js';
import { leaseTable, POSTGRES_TYPES } from '../schema.js';
import type { LeaseSql } from '../leases.js';

export const leaseMigrations: Migration[] = [{ name: '301_training_leases', sql: leaseTable(POSTGRES_TYPES) }];

export const leaseSql: LeaseSql = {
  get: 'SELECT * FROM training_leases WHERE model = $1',
  lockOrSkip: 'SELECT * FROM training_leases WHERE model = $1 FOR UPDATE SKIP LOCKED',
  lock: 'SELECT * FROM training_leases WHERE model = $1 FOR UPDATE',
  insert: `
    INSERT INTO training_leases (model, lease_id, holder, acquired_at, expires_at, attempt, released_at)
    VALUES (@model, @lease_id, @holder, @now, @expires_at, 1, NULL) ON CONFLICT (model) DO NOTHING`,
  take: `
    UPDATE training_leases SET lease_id = @lease_id, holder = @holder, acquired_at = @now, expires_at = @expires_at,
      attempt = @attempt, released_at = NULL
    WHERE model = @model`,
  extend: 'UPDATE training_leases SET expires_at = @expires_at WHERE model = @model AND lease_id = @lease_id',
  release: 'UPDATE training_leases SET released_at = @now WHERE model = @model AND lease_id = @lease_id',
  known: 'SELECT model FROM training_leases WHERE model = ANY(ARRAY(SELECT json_array_elements_text(@models::json)))',
  // The queue pattern: the free row waiting longest that no other transaction has locked.
  nextFree: `
    SELECT * FROM training_leases
    WHERE model = ANY(ARRAY(SELECT json_array_elements_text(@models::json)))
      AND (released_at IS NOT NULL OR expires_at <= @now)
    ORDER BY COALESCE(released_at, expires_at), model LIMIT 1
    FOR UPDATE SKIP LOCKED`,
};
