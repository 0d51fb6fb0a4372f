/** The label and batch stores that both storage implementations provide (SQL lives in storage/<dialect>/). */
import type { Batch, BatchCounts } from '@edgeloop/protocol';
import type { BuiltBatch } from './batch-content.js';

/** A reviewer's label for an input, given through `POST /v1/events/:id/label`. */
export interface ReviewRecord {
  id: string;
  /** The prediction the reviewer looked at. */
  eventId: string;
  model: string;
  inputHash: string;
  label: string;
  comment: string | null;
  /** Name of the admin key that labeled. */
  reviewer: string;
  createdAt: number;
}

import type { QueueItem, UnreportedPrediction } from '@edgeloop/protocol';
export type { QueueItem, UnreportedPrediction };

export type ReviewResult = { review: ReviewRecord } | { error: 'not_found' | 'not_prediction' };

/** What undoing a review did: the removed review, or why nothing was removed. */
export type UndoResult =
  { review: ReviewRecord } | { error: 'not_found' } | { error: 'in_batch'; review: ReviewRecord };

export interface LabelStore {
  /** Stores a reviewer's label for the input of prediction `eventId`; it wins over every correction. */
  review(r: {
    id: string;
    eventId: string;
    label: string;
    comment: string | null;
    reviewer: string;
    createdAt: number;
  }): Promise<ReviewResult>;
  /**
   * Removes review `id`, unless a batch has taken it already (every batch frozen after a review resolves its
   * input and counts it as seen, so removing it then would make a later correction of the input look seen).
   * Serialised with the model's freezes.
   */
  undo(id: string): Promise<UndoResult>;
  /** The review queue of a model, ties first, then oldest first. */
  queue(model: string, page: { limit: number; offset: number }): Promise<{ total: number; items: QueueItem[] }>;
  /**
   * The kept predictions (low-confidence and sampled, with their input) of `version` received at or before
   * `receivedBy` whose input no correction and no review names: the newest of each input, newest first.
   */
  unreported(
    model: string,
    query: { version: string; receivedBy: number; limit: number },
  ): Promise<UnreportedPrediction[]>;
}

export interface FreezeOptions {
  /** Id of the batch to create. */
  id: string;
  now: number;
  maxLabelsPerDevice: number;
}

/** A new batch, or `batch: null` with the counts when nothing trainable was labeled since the last one. */
export type FreezeResult = { batch: Batch } | { batch: null; counts: BatchCounts };

/** What a freeze would produce now: the dry run of `BatchStore.freeze`. */
export interface FreezePreview {
  /** The counts the batch would have; `counts.examples` is what the trainer waits on. */
  counts: BatchCounts;
  /** The model's latest training batch (everything in the preview was labeled since it), or null. */
  lastBatch: Batch | null;
}

/** One source a batch was made from: a correction, a review, or the prediction whose input it used. */
export interface LineageEntry {
  eventId: string;
  kind: 'correction' | 'review' | 'input';
  inputHash: string;
  role: string;
}

export type GoldenResult = { status: 'created' | 'unchanged'; batch: Batch } | { status: 'conflict'; current: Batch };

export interface BatchStore {
  /** Freezes everything labeled since the last batch of `model` (serialised per model across collectors). */
  freeze(model: string, options: FreezeOptions): Promise<FreezeResult>;
  /**
   * The freeze's dry run: the same reads and resolution on one snapshot, nothing written and no lock taken, so
   * its counts are what `freeze` with the same cap would answer if nothing arrived in between.
   */
  preview(model: string, options: { maxLabelsPerDevice: number }): Promise<FreezePreview>;
  /** The model's training batches, oldest first (golden sets are not listed). */
  list(model: string): Promise<Batch[]>;
  get(id: string): Promise<Batch | undefined>;
  /** Up to `limit` export lines after position `afterOrd` (start at -1), in order. */
  lines(id: string, afterOrd: number, limit: number): Promise<{ ord: number; line: string }[]>;
  /** The events and reviews a batch was made from. */
  lineage(id: string): Promise<LineageEntry[]>;
  /** Sets the model's golden set; an existing one is only replaced when `replaces` names it. */
  putGolden(
    model: string,
    content: BuiltBatch,
    options: { id: string; now: number; replaces: string | null },
  ): Promise<GoldenResult>;
  /** The model's current golden set. */
  golden(model: string): Promise<Batch | undefined>;
  /** Makes `content` the model's base data (a new set unless the current one has the same content). */
  putBaseData(
    model: string,
    content: BuiltBatch,
    options: { id: string; now: number },
  ): Promise<{ status: 'created' | 'unchanged'; batch: Batch }>;
  /** The model's current base data. */
  baseData(model: string): Promise<Batch | undefined>;
}

/** A `batches` row as both stores read it (`golden` is 0/1 on SQLite, a boolean on PostgreSQL). */
export interface BatchRow {
  id: string;
  model: string;
  sha256: string;
  counts: string;
  created_at: number;
  golden: number | boolean;
}

/** The wire form of a stored batch. */
export function batchFromRow(r: BatchRow): Batch {
  return {
    id: r.id,
    model: r.model,
    sha256: r.sha256,
    counts: JSON.parse(r.counts) as BatchCounts,
    createdAt: r.created_at,
    golden: r.golden === true || r.golden === 1,
  };
}

/** A `batch_examples` row's lineage columns. */
export interface LineageRow {
  input_hash: string;
  source_event_id: string | null;
  sources: string | null;
}

/** The lineage of a batch from its examples: the prediction that gave each input and the labels that decided it. */
export function lineageOf(rows: readonly LineageRow[]): LineageEntry[] {
  const out: LineageEntry[] = [];
  for (const r of rows) {
    if (r.source_event_id)
      out.push({ eventId: r.source_event_id, kind: 'input', inputHash: r.input_hash, role: 'input' });
    for (const s of r.sources
      ? (JSON.parse(r.sources) as { sourceId: string; kind: 'correction' | 'review'; role: string }[])
      : []) {
      out.push({ eventId: s.sourceId, kind: s.kind, inputHash: r.input_hash, role: s.role });
    }
  }
  return out;
}
