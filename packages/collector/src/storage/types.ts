/**
 * Storage is one interface with two implementations (SQLite embedded, PostgreSQL) that pass the same test
 * suite. Every write resolves only after its transaction has committed: the ingest route acks on that.
 * A store that cannot reach its database throws `StorageUnavailableError`, which the app turns into 503.
 */
import type { Event } from '@edgeloop/protocol';

export type Scope = 'ingest' | 'trainer' | 'admin';

export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface InsertResult {
  /** Events stored by this call. */
  inserted: number;
  /** Events whose id was already stored (not stored twice). */
  duplicates: number;
}

export interface EventStore {
  /** Stores the events whose id is new, in one transaction, and resolves after commit. */
  insert(events: Event[], receivedAt: number): Promise<InsertResult>;
  /**
   * Optional hint that an insert is on its way (a request's body is still arriving); call the returned function
   * when it has been submitted or abandoned. A store that groups commits waits briefly for announced writers.
   */
  expectWrite?(): () => void;
  /** One stored event as it was received. */
  get(id: string): Promise<Event | undefined>;
  /** Number of stored events, optionally of one model and/or type. */
  count(filter?: { model?: string; type?: Event['type'] }): Promise<number>;
}

export interface KeyRecord {
  id: string;
  name: string;
  scope: Scope;
  createdAt: number;
  revokedAt: number | null;
}

export interface KeyStore {
  /** Stores a key by its hash; `hash` is sha256 hex of the secret. Idempotent on the hash. */
  create(record: { id: string; name: string; scope: Scope; hash: string; createdAt: number }): Promise<KeyRecord>;
  /** The key with this hash, revoked or not. */
  findByHash(hash: string): Promise<(KeyRecord & { hash: string }) | undefined>;
  list(): Promise<KeyRecord[]>;
  /** Revokes by id or name; resolves to whether a key was revoked. */
  revoke(idOrName: string, at: number): Promise<boolean>;
}

/** The parts every store shares; the feature stores (labels, batches, registry, rollout, metrics) extend it. */
export interface StorageCore {
  readonly kind: 'sqlite' | 'postgres';
  /** Applies pending schema migrations (idempotent; safe with several collectors at once). */
  migrate(): Promise<void>;
  /** Resolves when the database answers a trivial query; throws `StorageUnavailableError` otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
  readonly events: EventStore;
  readonly keys: KeyStore;
}
