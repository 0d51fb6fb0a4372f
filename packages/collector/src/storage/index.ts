import type { StorageCore } from './types.js';
import { createSqliteStorage } from './sqlite/index.js';
import { createPostgresStorage } from './postgres/index.js';
import type { SqliteOptions } from './sqlite/db.js';
import type { PostgresOptions } from './postgres/db.js';

export * from './types.js';

/** Everything the collector keeps. Feature stores are added here as fields. */
export interface Storage extends StorageCore {}

export type StorageOptions = { sqlite: SqliteOptions } | { postgres: PostgresOptions };

/** Opens the store the options name (not yet migrated). */
export function openStorage(options: StorageOptions): Storage {
  return 'sqlite' in options ? createSqliteStorage(options.sqlite) : createPostgresStorage(options.postgres);
}
