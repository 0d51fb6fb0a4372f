/**
 * The tables both dialects share, written once. A dialect fills in its column types (`ColumnTypes`) and adds
 * what only it has (SQLite's trigger syntax and index tricks, PostgreSQL's artifact table and lock functions).
 */

/** Column types that differ between the dialects. */
export interface ColumnTypes {
  /** An autoincrementing integer primary key (insertion order). */
  seq: string;
  /** A 64-bit integer: milliseconds, revisions. */
  int64: string;
  real: string;
  bool: string;
  /** Text compared bytewise (sorted as JavaScript sorts), where the dialect has a choice. */
  bytewise: string;
}

export const SQLITE_TYPES: ColumnTypes = {
  seq: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  int64: 'INTEGER',
  real: 'REAL',
  bool: 'INTEGER',
  bytewise: 'TEXT',
};
export const POSTGRES_TYPES: ColumnTypes = {
  seq: 'BIGSERIAL PRIMARY KEY',
  int64: 'BIGINT',
  real: 'DOUBLE PRECISION',
  bool: 'BOOLEAN',
  bytewise: 'TEXT COLLATE "C"',
};

/** `001_events`: every event as received, with the columns reads filter on. */
export const eventsTable = (t: ColumnTypes) => `
  CREATE TABLE events (
    seq ${t.seq},
    id TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    version TEXT NOT NULL,
    device_id TEXT NOT NULL,
    type TEXT NOT NULL,
    ts ${t.int64} NOT NULL,
    received_at ${t.int64} NOT NULL,
    input_hash TEXT,
    prediction_id TEXT,
    label TEXT,
    confidence ${t.real},
    reason TEXT,
    body TEXT NOT NULL
  );
  CREATE INDEX events_model_type ON events (model, type, seq);
  CREATE INDEX events_prediction ON events (prediction_id) WHERE prediction_id IS NOT NULL;
  CREATE INDEX events_input_hash ON events (model, input_hash) WHERE input_hash IS NOT NULL;`;

/** `002_api_keys`: keys by the hash of their secret. */
export const keysTable = (t: ColumnTypes) => `
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('ingest', 'trainer', 'admin')),
    hash TEXT NOT NULL UNIQUE,
    created_at ${t.int64} NOT NULL,
    revoked_at ${t.int64}
  );`;

/** `101_labels`: reviewer labels, and the latest resolution of each input. */
export const labelTables = (t: ColumnTypes) => `
  CREATE TABLE reviews (
    id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    input_hash TEXT NOT NULL,
    event_id TEXT NOT NULL,
    label TEXT NOT NULL,
    comment TEXT,
    reviewer TEXT NOT NULL,
    created_at ${t.int64} NOT NULL
  );
  CREATE INDEX reviews_input ON reviews (model, input_hash);
  -- The latest resolution of each input: a label makes it trusted (out of the queue); a tie puts it in.
  CREATE TABLE input_labels (
    model ${t.bytewise} NOT NULL,
    input_hash ${t.bytewise} NOT NULL,
    outcome TEXT NOT NULL,
    label TEXT,
    batch_id TEXT,
    -- How many sources (corrections and reviews) the input had when a batch last resolved it.
    sources INTEGER NOT NULL,
    updated_at ${t.int64} NOT NULL,
    PRIMARY KEY (model, input_hash)
  );`;

/**
 * `104_review_batch`: the batch that took each review (`NULL` until one does), so that only a review no batch has
 * counted can be undone. Reviews stored before it count as taken when a batch has resolved their input (which
 * may be before the review: such a review cannot be undone, the safe side).
 */
export const reviewBatchColumn = `
  ALTER TABLE reviews ADD COLUMN batch_id TEXT;
  UPDATE reviews SET batch_id = (
    SELECT l.batch_id FROM input_labels l WHERE l.model = reviews.model AND l.input_hash = reviews.input_hash
  );`;

/** `102_batches`: immutable batches and golden sets, their examples, and each model's current golden set. */
export const batchTables = (t: ColumnTypes) => `
  CREATE TABLE batches (
    id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    counts TEXT NOT NULL,
    created_at ${t.int64} NOT NULL,
    golden ${t.bool} NOT NULL,
    replaces TEXT
  );
  CREATE INDEX batches_model ON batches (model, golden, created_at);
  CREATE TABLE batch_examples (
    batch_id ${t.bytewise} NOT NULL,
    ord INTEGER NOT NULL,
    input_hash TEXT NOT NULL,
    label TEXT NOT NULL,
    split TEXT NOT NULL,
    source_event_id TEXT,
    sources TEXT,
    line TEXT NOT NULL,
    PRIMARY KEY (batch_id, ord)
  );
  CREATE TABLE golden_current (
    model TEXT PRIMARY KEY,
    batch_id TEXT NOT NULL REFERENCES batches (id)
  );`;

/** `103_base_data`: each model's current base data (a set in `batches`, like the golden set), which retraining replays. */
export const baseDataTable = `
  CREATE TABLE base_data_current (
    model TEXT PRIMARY KEY,
    batch_id TEXT NOT NULL REFERENCES batches (id)
  );`;

/** `201_model_versions`: immutable versions with their lineage. */
export const versionsTable = (t: ColumnTypes) => `
  CREATE TABLE model_versions (
    seq ${t.seq},
    model TEXT NOT NULL,
    version TEXT NOT NULL,
    created_at ${t.int64} NOT NULL,
    created_by TEXT NOT NULL,
    parent TEXT,
    artifacts TEXT NOT NULL,
    meta TEXT NOT NULL,
    UNIQUE (model, version)
  );`;

/** `202_rollouts`: one rollout per model, and the audit log of every change and decision. */
export const rolloutTables = (t: ColumnTypes) => `
  CREATE TABLE rollouts (
    model TEXT PRIMARY KEY,
    stable TEXT,
    canary TEXT,
    canary_percent ${t.real} NOT NULL,
    auto TEXT,
    revision ${t.int64} NOT NULL,
    updated_at ${t.int64} NOT NULL,
    phase_started_at ${t.int64} NOT NULL,
    decided_at ${t.int64}
  );
  CREATE TABLE rollout_audit (
    seq ${t.seq},
    model TEXT NOT NULL,
    at ${t.int64} NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    before TEXT,
    after TEXT NOT NULL,
    details TEXT
  );
  CREATE INDEX rollout_audit_model ON rollout_audit (model, seq);`;

/** `203_events_received_index`: metrics windows are by arrival time (the server's clock), not by the device's. */
export const receivedIndex = 'CREATE INDEX events_model_type_received ON events (model, type, received_at);';

/**
 * `301_training_leases`: one row per model a trainer ever claimed, reused by every later claim (a new `lease_id`
 * each time), so `attempt` can count takeovers since the last clean release.
 */
export const leaseTable = (t: ColumnTypes) => `
  CREATE TABLE training_leases (
    model TEXT PRIMARY KEY,
    lease_id TEXT NOT NULL,
    holder TEXT NOT NULL,
    acquired_at ${t.int64} NOT NULL,
    expires_at ${t.int64} NOT NULL,
    attempt ${t.int64} NOT NULL,
    released_at ${t.int64}
  );`;
