/** What the training-lease store keeps and answers: one lease row per model, reused by every claim. */

export interface LeaseRecord {
  model: string;
  leaseId: string;
  holder: string;
  acquiredAt: number;
  expiresAt: number;
  attempt: number;
  /** When its holder released it; null while held or after it expired unreleased. */
  releasedAt: number | null;
}

/** A claim's outcome: the lease, or who holds it (null: another claim of it is being committed right now). */
export type ClaimOutcome =
  | { status: 'claimed'; lease: LeaseRecord; previous: LeaseRecord | null }
  | { status: 'held'; current: LeaseRecord | null };

/** A renew's or release's outcome: the lease, or `lost` with the model's current lease (null: none). */
export type HolderOutcome = { status: 'ok'; lease: LeaseRecord } | { status: 'lost'; current: LeaseRecord | null };

export interface ClaimRequest {
  holder: string;
  ttlMs: number;
  now: number;
  /** The id the lease gets if this claim wins. */
  leaseId: string;
}

/** Training leases, one per model; every method commits before it resolves. */
export interface LeaseStore {
  /** Takes the model's lease when it is free, expired, or already this holder's; `held` otherwise. */
  claim(model: string, request: ClaimRequest): Promise<ClaimOutcome>;
  /** Pushes the expiry of `leaseId` to now + ttl, while it is still the model's lease and not released. */
  renew(model: string, leaseId: string, ttlMs: number, now: number): Promise<HolderOutcome>;
  /** Releases `leaseId` (again: answers it as it was released). */
  release(model: string, leaseId: string, now: number): Promise<HolderOutcome>;
  /**
   * Takes the lease of one free model among `models`: one never claimed first (in their order), else the one free the
   * longest; skips models held or being claimed; `held` (with no current lease) when none is free.
   */
  claimNext(models: readonly string[], request: ClaimRequest): Promise<ClaimOutcome>;
  get(model: string): Promise<LeaseRecord | undefined>;
}

/** Whether a claim may take `lease` now. */
export const isFree = (lease: LeaseRecord, now: number): boolean => lease.releasedAt !== null || lease.expiresAt <= now;
