import type { StorageCore } from './types.js';
import { createSqliteStorage } from './sqlite/index.js';
import { createPostgresStorage } from './postgres/index.js';
import type { SqliteOptions } from './sqlite/db.js';
import type { PostgresOptions } from './postgres/db.js';
import type { BlobStore, RegistryStore } from '../registry/types.js';
import type { MetricsStore, RolloutStore } from '../rollout/types.js';
import type { BatchStore, LabelStore } from '../labels/store.js';
import type { LeaseStore } from '../leases/types.js';
import type { RetentionStore } from './retention.js';

export * from './types.js';
export type { RetentionStore, RetentionResult } from './retention.js';

/** Everything the collector keeps. Feature stores are added here as fields. */
export interface Storage extends StorageCore {
  /** Reviewer labels and the review queue. */
  readonly labels: LabelStore;
  /** Labeled batches and golden sets. */
  readonly batches: BatchStore;
  /** Model versions: metadata and lineage. */
  readonly registry: RegistryStore;
  /** Artifact bytes when the database keeps them (PostgreSQL); `null`: files under `<dataDir>/artifacts`. */
  readonly blobs: BlobStore | null;
  /** Per-model rollout, its audit log and the controller's leadership. */
  readonly rollout: RolloutStore;
  /** What metrics and canary analysis read from the events. */
  readonly metrics: MetricsStore;
  /** Training leases: which trainer trains which model now. */
  readonly leases: LeaseStore;
  /** Event partitions (PostgreSQL) and retention. */
  readonly retention: RetentionStore;
}

export type StorageOptions = { sqlite: SqliteOptions } | { postgres: PostgresOptions };

/** Opens the store the options name (not yet migrated). */
export function openStorage(options: StorageOptions): Storage {
  return 'sqlite' in options ? createSqliteStorage(options.sqlite) : createPostgresStorage(options.postgres);
}
