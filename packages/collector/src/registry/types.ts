/**
 * The model registry's storage contracts: immutable versions (metadata and lineage) in the database, and their
 * artifacts' bytes in a content-addressed blob store (files on disk, or a PostgreSQL table).
 */
import type { Version } from '@edgeloop/protocol';

/** One model as the registry lists it. */
export interface ModelSummary {
  model: string;
  versions: number;
  latest: string;
  createdAt: number;
  updatedAt: number;
}

export interface RegistryStore {
  /** Stores a new version; resolves `false` (and changes nothing) when that version already exists. */
  create(version: Version): Promise<boolean>;
  get(model: string, version: string): Promise<Version | undefined>;
  /** Every version of a model, newest first. */
  list(model: string): Promise<Version[]>;
  models(): Promise<ModelSummary[]>;
}

/** Bytes addressed by their sha256: writing the same bytes twice is a no-op, and a name is never a path. */
export interface BlobStore {
  /** Stores `bytes` under `sha256` (the caller has hashed them); resolves after they are durable. */
  put(sha256: string, bytes: Buffer): Promise<void>;
  get(sha256: string): Promise<Buffer | undefined>;
  has(sha256: string): Promise<boolean>;
}
