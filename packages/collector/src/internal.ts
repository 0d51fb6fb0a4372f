/**
 * `@edgeloop/collector/internal`: what the collector's own tests and benchmarks reach into. Not part of the
 * public API: names here may change in any release.
 */
export { main as runCli, type CliOutput } from './cli.js';
export { sqliteConnection } from './storage/sqlite/db.js';
export { sqliteEventWriter } from './storage/sqlite/index.js';
export { migrateSqlite, openSqlite } from './storage/sqlite/db.js';
export { eventMigrations as sqliteEventMigrations } from './storage/sqlite/events.js';
export { labelMigrations as sqliteLabelMigrations } from './storage/sqlite/labels.js';
export { batchMigrations as sqliteBatchMigrations } from './storage/sqlite/batches.js';
export { CONTROLLER_LEASE_MS } from './storage/sqlite/rollout.js';
export { INSERT_EVENTS as PG_INSERT_EVENTS } from './storage/postgres/events.js';
export { eventColumns } from './storage/event-columns.js';
export { ManifestCache } from './rollout/manifest-cache.js';
export type { RolloutState } from './rollout/types.js';
export { splitOf } from './labels/split.js';
export { resolveLabels, type LabelSource } from './labels/resolver.js';
export { psi, labelPsi } from './rollout/psi.js';
export { GroupCommit } from './storage/sqlite/group-commit.js';
