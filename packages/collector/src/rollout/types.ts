/**
 * Rollout and metrics storage contracts: one rollout row per model (stable, canary, percent, auto policy) with a
 * revision for optimistic concurrency, an append-only audit log of every change and decision, and the reads the
 * metrics and the canary controller need from the `events` table.
 */
import type { AuditAction, AuditEntry, Rollout, StatsEvent } from '@edgeloop/protocol';

/** A model's rollout as stored. */
export interface RolloutState extends Rollout {
  model: string;
  /** Bumped by every write; writers say which revision they read, so two writers never overwrite each other. */
  revision: number;
  updatedAt: number;
  /** When the current stable/canary/percent combination began: the canary analysis window starts here. */
  phaseStartedAt: number;
  /** When the last change or controller decision was recorded. */
  decidedAt: number | null;
}

export type { AuditAction };

/** An audit entry as stored: the wire entry and the model it belongs to. */
export interface AuditRecord extends AuditEntry {
  model: string;
}

export interface RolloutChange {
  /** The revision the writer read (0 when the model had no rollout yet). */
  expectedRevision: number;
  /** The new rollout, or `null` to record a decision that changes nothing (a hold). */
  next: Rollout | null;
  /** Start of the analysis window for `next`. */
  phaseStartedAt: number;
  entry: Omit<AuditEntry, 'seq' | 'before' | 'after'>;
}

export interface RolloutStore {
  get(model: string): Promise<RolloutState | undefined>;
  /**
   * Writes the change and its audit entry in one transaction if the rollout is still at `expectedRevision`;
   * resolves to the new state, or `undefined` when someone else wrote first.
   */
  apply(model: string, change: RolloutChange): Promise<RolloutState | undefined>;
  /** The audit log, newest first. */
  history(model: string, limit: number): Promise<AuditRecord[]>;
  /** Rollouts with a live canary and an automatic policy: the controller's work list. */
  automated(): Promise<RolloutState[]>;
  /**
   * Becomes (or stays) the one process that runs the controller; resolves to whether this process leads. `now`
   * (the controller's tick time) dates a time-limited lease where the store uses one (SQLite).
   */
  lead(now?: number): Promise<boolean>;
  /** Gives leadership up (at shutdown). */
  resign(): Promise<void>;
}

/** One `stats` event as the metrics read it. */
export interface StatsRow {
  version: string;
  receivedAt: number;
  stats: StatsEvent;
}

/** Events of one type counted per version and per time bucket (`(receivedAt - since) / bucketMs`, floored). */
export interface BucketCount {
  version: string;
  bucket: number;
  n: number;
}

export interface MetricsStore {
  /** `stats` events of a model received in [since, until), of the given versions when a list is given. */
  stats(model: string, since: number, until: number, versions?: readonly string[]): Promise<StatsRow[]>;
  /** `correction` or `error` events of a model received in [since, until), counted per version and bucket. */
  counts(
    model: string,
    type: 'correction' | 'error',
    since: number,
    until: number,
    bucketMs: number,
  ): Promise<BucketCount[]>;
}
