/**
 * Every endpoint of the collector's v1 HTTP API, one spec each: method, url, key scope, bounded params and
 * query, body and every response. The collector registers its routes from these objects and clients call
 * them through `call()`; docs/architecture.md says where each one sits in the loop.
 */
import Type from 'typebox';
import {
  Batch,
  DeviceId,
  ErrorResponse,
  Example,
  IngestRequest,
  IngestResponse,
  Manifest,
  MAX_BODY_BYTES,
  MAX_EVENTS_PER_REQUEST,
  ModelName,
  Rollout,
  Sha256Hex,
  Timestamp,
  UnreportedPrediction,
  Uuid,
  Version,
  VersionName,
} from '../schemas.js';
import {
  BatchId,
  BlindLoopReport,
  LabelRequest,
  Lineage,
  MetricsReport,
  ModelEntry,
  PendingLabels,
  Review,
  ReviewQueue,
  RolloutHistory,
  RolloutUpdate,
  Reason,
  CanaryDecision,
  StartCanaryRequest,
  CanaryPercentRequest,
  RequiredReason,
} from './documents.js';
import { endpoint } from './endpoint.js';
import { Lease, LeaseRenewal, LeaseRequest, NextLease, NextLeaseRequest } from './leases.js';

const closed = { additionalProperties: false } as const;
const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse };
const ModelParams = Type.Object({ model: ModelName }, closed);
const BatchParams = Type.Object({ id: BatchId }, closed);
/** A key in the query string (ingest routes: unload-time sends cannot set headers without a preflight). */
const QueryKey = Type.Optional(Type.String({ maxLength: 512 }));
/** A device's request for the canary (`GET …/manifest?canary=true`): the collector serves it the live canary. */
const CanaryOptIn = Type.Optional(
  Type.Boolean({
    description: 'true: this device joined the canary (its user asked for it); absent or false: by bucket',
  }),
);

/** The default cap of votes per device and input when a batch is frozen. */
export const DEFAULT_MAX_LABELS_PER_DEVICE = 50;
const MaxLabelsPerDevice = Type.Object(
  { maxLabelsPerDevice: Type.Integer({ minimum: 1, maximum: 1_000_000, default: DEFAULT_MAX_LABELS_PER_DEVICE }) },
  closed,
);

/** Longest window the metrics report splits into buckets. */
export const MAX_METRICS_BUCKETS = 2000;

// ── probes ──────────────────────────────────────────────────────────────────────────────────────────────

export const getHealth = endpoint({
  method: 'GET',
  url: '/healthz',
  scope: 'none',
  summary: 'Liveness probe',
  response: { 200: Type.Object({ ok: Type.Boolean() }) },
});

export const getReady = endpoint({
  method: 'GET',
  url: '/readyz',
  scope: 'none',
  summary: 'Readiness probe: the store answers',
  response: { 200: Type.Object({ ok: Type.Boolean(), storage: Type.String() }) },
});

// ── devices ─────────────────────────────────────────────────────────────────────────────────────────────

export const postEvents = endpoint({
  method: 'POST',
  url: '/v1/events',
  scope: 'ingest',
  summary: 'Store a batch of events',
  description:
    `At most ${MAX_EVENTS_PER_REQUEST} events and ${MAX_BODY_BYTES} bytes after decoding (\`Content-Encoding: gzip\` accepted). ` +
    'The body may be sent as `application/json` or `text/plain` (unload-time sends, key in `?key=`). ' +
    'Answered only after the commit. `accepted` counts every valid event, `duplicates` those of them already stored; ' +
    '`rejected` lists each invalid event by index with a stable code. A correction carries exactly one of `label` ' +
    '(single-label models) and `labels` (the right label set of a multi-label model): both or neither is rejected ' +
    '(`EL_INVALID_EVENT`), alone.',
  querystring: Type.Object({ key: QueryKey }),
  body: IngestRequest,
  response: { 200: IngestResponse, ...errors },
});

export const getManifest = endpoint({
  method: 'GET',
  url: '/v1/models/:model/manifest',
  scope: 'ingest',
  summary: 'The manifest of the version this device must run (ETag, 304)',
  description:
    'The version comes from the shared bucketing: a device is on the canary iff its bucket is below ' +
    '`canaryPercent × 100`. `canary=true` says the device asks for the canary (its user joined it): it is then ' +
    'served the live canary whatever its bucket, even at 0 %, and counted in the canary like any canary device; ' +
    'with no live canary it gets stable. The collector decides: asking never creates a canary.',
  params: Type.Object({ model: ModelName }),
  querystring: Type.Object({ device: DeviceId, key: QueryKey, canary: CanaryOptIn }),
  response: { 200: Manifest, 304: Type.Null(), 404: ErrorResponse },
});

export const getArtifact = endpoint({
  method: 'GET',
  url: '/v1/artifacts/:sha256',
  scope: 'ingest',
  summary: 'Artifact bytes by sha256 (immutable)',
  params: Type.Object({ sha256: Sha256Hex }),
  stream: { type: 'bytes' },
  response: {
    200: Type.Unsafe<Uint8Array>({ type: 'string', format: 'binary' }),
    304: Type.Null(),
    404: ErrorResponse,
  },
});

// ── labels and batches ──────────────────────────────────────────────────────────────────────────────────

export const getReviewQueue = endpoint({
  method: 'GET',
  url: '/v1/models/:model/review',
  scope: 'admin',
  summary: 'The review queue of a model',
  description:
    'Inputs waiting for a person, ties first, then oldest first. Label one with `POST /v1/events/:id/label` on its `predictionId`.',
  params: ModelParams,
  querystring: Type.Object(
    {
      limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
      offset: Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 }),
    },
    closed,
  ),
  response: { 200: ReviewQueue, ...errors },
});

export const postLabel = endpoint({
  method: 'POST',
  url: '/v1/events/:id/label',
  scope: 'admin',
  summary: "Label a prediction's input as a reviewer",
  description:
    'A reviewer label wins over every correction of the same input in the next batch. The label must be one of the ' +
    "model's labels (its stable version's, else its latest version's): 422 `EL_UNKNOWN_LABEL` otherwise, nothing stored. " +
    'A multi-label (`output.kind` "sigmoid") model is labeled with `labels`, the set of labels that apply (`[]`: none), ' +
    'each one of its labels; a single-label model with `label`: the other one is 422 `EL_LABEL_KIND`, and both or neither ' +
    '400 `EL_INVALID_BODY`. A model with no version yet has no label set, so the label is taken as sent.',
  params: Type.Object({ id: Uuid }, closed),
  body: LabelRequest,
  response: { 201: Review, ...errors },
});

export const deleteLabel = endpoint({
  method: 'DELETE',
  url: '/v1/reviews/:id',
  scope: 'admin',
  summary: "Undo a reviewer's label",
  description:
    'Removes the review `id` (the `id` that `POST /v1/events/:id/label` answered) and answers it: the input goes back ' +
    'to the review queue unless something else labels it. A review a batch has already taken cannot be undone ' +
    '(409 `EL_REVIEW_IN_BATCH`): batches are immutable, so label the input again instead.',
  params: Type.Object({ id: Uuid }, closed),
  response: { 200: Review, ...errors },
});

export const postBatch = endpoint({
  method: 'POST',
  url: '/v1/models/:model/batches',
  scope: 'trainer',
  summary: 'Freeze a labeled batch',
  description:
    'Resolves every label received since the last batch (reviewer label first, else the most-voted label of corrections, ' +
    'ties for first place to the review queue, at most `maxLabelsPerDevice` votes per device) into an immutable batch. ' +
    '409 `EL_EMPTY_BATCH` when nothing trainable was labeled.',
  params: ModelParams,
  querystring: MaxLabelsPerDevice,
  response: { 201: Batch, ...errors },
});

export const getPendingLabels = endpoint({
  method: 'GET',
  url: '/v1/models/:model/labels/pending',
  scope: 'trainer',
  summary: 'What a freeze would produce now (its dry run)',
  description:
    "Runs the freeze's own reads and label resolution on one snapshot and writes nothing: `pending` is the number of " +
    'examples `POST /v1/models/:model/batches` with the same `maxLabelsPerDevice` would freeze now, and `counts` the rest ' +
    "of that batch's counts (ties it would send to review, capped votes, inputs without bytes, golden inputs left out). " +
    "Its cost grows with the model's corrections, not with what is pending (BENCHMARKS.md has figures): poll every 30 s or slower.",
  params: ModelParams,
  querystring: MaxLabelsPerDevice,
  response: { 200: PendingLabels, ...errors },
});

export const listBatches = endpoint({
  method: 'GET',
  url: '/v1/models/:model/batches',
  scope: 'trainer',
  summary: "A model's labeled batches, oldest first",
  params: ModelParams,
  response: { 200: Type.Array(Batch), ...errors },
});

export const getBatch = endpoint({
  method: 'GET',
  url: '/v1/batches/:id',
  scope: 'trainer',
  summary: 'One batch',
  params: BatchParams,
  response: { 200: Batch, ...errors },
});

export const getBatchExamples = endpoint({
  method: 'GET',
  url: '/v1/batches/:id/examples',
  scope: 'trainer',
  summary: "A batch's examples as NDJSON",
  description:
    "One `{ inputHash, input, label, split }` per line, sorted by inputHash; the sha256 of the body is the batch's `sha256` and ETag. " +
    'An input whose resolved label is a label set (corrections and reviews of a multi-label model) has `labels` (the set, ' +
    'sorted) instead of `label`.',
  params: BatchParams,
  stream: { type: 'ndjson', line: Example },
  response: {},
});

export const getBatchLineage = endpoint({
  method: 'GET',
  url: '/v1/batches/:id/lineage',
  scope: 'trainer',
  summary: 'The corrections, reviews and predictions a batch was made from',
  params: BatchParams,
  response: { 200: Lineage, ...errors },
});

/** How long ago, by default, a kept prediction no one reported must have arrived to count as accepted (10 minutes). */
export const DEFAULT_SETTLED_MS = 600_000;
/** The longest `settledMs` of `getUnreported` (365 days). */
export const MAX_SETTLED_MS = 31_536_000_000;

export const getUnreported = endpoint({
  method: 'GET',
  url: '/v1/models/:model/unreported',
  scope: 'trainer',
  summary: 'Kept predictions of a version that no one corrected or reviewed',
  description:
    'The low-confidence and sampled predictions of `version` that were uploaded with their input and received at least `settledMs` ago, ' +
    'leaving out every input that a correction (of any prediction of that input, from any device) or a review names: the inputs users ' +
    'implicitly accepted. One item per input (its newest such prediction), newest first, at most `limit`. An unknown model or version has none.',
  params: ModelParams,
  querystring: Type.Object(
    {
      version: VersionName,
      settledMs: Type.Integer({ minimum: 0, maximum: MAX_SETTLED_MS, default: DEFAULT_SETTLED_MS }),
      limit: Type.Integer({ minimum: 1, maximum: 5000, default: 1000 }),
    },
    closed,
  ),
  response: { 200: Type.Object({ items: Type.Array(UnreportedPrediction) }, closed), ...errors },
});

/** Golden sets carry their inputs, so they may be far larger than an event batch. */
export const GOLDEN_BODY_LIMIT = 64 * 1024 * 1024;

export const putGolden = endpoint({
  method: 'PUT',
  url: '/v1/models/:model/golden',
  scope: 'trainer',
  summary: "Set a model's golden set",
  description:
    'Body: NDJSON (`application/x-ndjson`) or JSON (an array or `{ examples }`) of `{ inputHash, input, label }`, or of ' +
    '`{ inputHash, input, labels }` for a multi-label model (`labels`: the set that applies, `[]` for none; one kind per set). ' +
    '201 with the new set; 200 when the same content is already the golden set; 409 `EL_GOLDEN_EXISTS` when another ' +
    'set exists, unless an admin key names it in `?replaces=`.',
  params: ModelParams,
  querystring: Type.Object({ replaces: Type.Optional(BatchId) }, closed),
  accepts: 'ndjson',
  body: Type.Array(Example),
  response: { 200: Batch, 201: Batch, ...errors },
});

export const getGolden = endpoint({
  method: 'GET',
  url: '/v1/models/:model/golden',
  scope: 'trainer',
  summary: "A model's golden set as NDJSON",
  description:
    'One `{ inputHash, input, label, split: "golden" }` per line; the ETag is the set\'s sha256, `x-edgeloop-batch-id` its id.',
  params: ModelParams,
  stream: { type: 'ndjson', line: Example },
  response: {},
});

/**
 * A model's base data: its training set (or a sample of it), uploaded once like the golden set, which retraining
 * replays beside the new corrections so that a fine-tune does not forget what the model knew.
 */
export const putBaseData = endpoint({
  method: 'PUT',
  url: '/v1/models/:model/base-data',
  scope: 'trainer',
  summary: "Set a model's base data for replay",
  description:
    'Body: NDJSON (`application/x-ndjson`) or JSON (an array or `{ examples }`) of `{ inputHash, input, label }` (or ' +
    '`labels`, multi-label), as for ' +
    "the golden set. 201 with the new set, which becomes the model's base data (an earlier set stays stored, so versions " +
    'trained on it keep their lineage); 200 when the same content already is. Base data is never listed among the batches.',
  params: ModelParams,
  accepts: 'ndjson',
  body: Type.Array(Example),
  response: { 200: Batch, 201: Batch, ...errors },
});

export const getBaseData = endpoint({
  method: 'GET',
  url: '/v1/models/:model/base-data',
  scope: 'trainer',
  summary: "A model's base data as NDJSON",
  description:
    'One `{ inputHash, input, label, split: "train" }` per line; the ETag is the set\'s sha256, `x-edgeloop-batch-id` its id.',
  params: ModelParams,
  stream: { type: 'ndjson', line: Example },
  response: {},
});

// ── training leases ─────────────────────────────────────────────────────────────────────────────────────

const LeaseParams = Type.Object({ model: ModelName, leaseId: Uuid }, closed);

export const getLease = endpoint({
  method: 'GET',
  url: '/v1/models/:model/lease',
  scope: 'trainer',
  summary: "A model's training lease: who holds it, until when, and which attempt it is",
  description: '404 `EL_NOT_FOUND` when no trainer ever claimed one for the model.',
  params: ModelParams,
  response: { 200: Lease, ...errors },
});

export const claimLease = endpoint({
  method: 'POST',
  url: '/v1/models/:model/lease',
  scope: 'trainer',
  summary: "Claim a model's training lease before a training cycle",
  description:
    'Granted when the lease is free (never claimed, released, or expired: a takeover, which counts one more `attempt`) ' +
    'or already held by the same `holder` (its expiry is then pushed to now + `ttlMs`). Otherwise 409 `EL_LEASE_HELD`, ' +
    'whose body also carries `holder` and `expiresAt`: wait and claim again. Of concurrent claims exactly one wins, on ' +
    'every collector sharing the database.',
  params: ModelParams,
  body: LeaseRequest,
  response: { 200: Lease, ...errors },
});

export const renewLease = endpoint({
  method: 'POST',
  url: '/v1/models/:model/lease/:leaseId/renew',
  scope: 'trainer',
  summary: 'Renew a training lease: it then lasts `ttlMs` from now',
  description:
    'Renew every third of the time-to-live while training, and once more right before publishing. 409 `EL_LEASE_LOST` ' +
    'when `leaseId` is no longer the lease of the model (released, or taken over after it expired): stop the job and ' +
    'publish nothing. A lease that expired but that nobody took over is still yours and renews.',
  params: LeaseParams,
  body: LeaseRenewal,
  response: { 200: Lease, ...errors },
});

export const releaseLease = endpoint({
  method: 'DELETE',
  url: '/v1/models/:model/lease/:leaseId',
  scope: 'trainer',
  summary: 'Release a training lease after the cycle, so another trainer may take the model at once',
  description:
    'Answers the released lease (`state: "released"`); releasing it again answers the same. 409 `EL_LEASE_LOST` when ' +
    'the lease was taken over meanwhile.',
  params: LeaseParams,
  response: { 200: Lease, ...errors },
});

export const claimNextLease = endpoint({
  method: 'POST',
  url: '/v1/leases/next',
  scope: 'trainer',
  summary: 'Claim the lease of the first free model among those named (a trainer serving many models)',
  description:
    'The trainer names the models it would train now (those whose trigger fired), at most 100. The collector grants ' +
    'one nobody holds: a model never claimed first (in the order named), else the one free the longest (released or ' +
    'expired; taking an expired one over counts one more `attempt`). Models other trainers hold, or are claiming at ' +
    'this moment, are skipped (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so concurrent trainers get different models. ' +
    '`{ lease: null }` when every named model is held.',
  body: NextLeaseRequest,
  response: { 200: NextLease, ...errors },
});

// ── registry ────────────────────────────────────────────────────────────────────────────────────────────

export const postVersion = endpoint({
  method: 'POST',
  url: '/v1/models/:model/versions',
  scope: 'trainer',
  summary:
    'Publish an immutable version: multipart with a "meta" part (VersionMeta JSON) and one file part per artifact named by its format',
  description:
    "A trainer that holds the model's training lease passes its id as `lease`: the publish is refused with 409 " +
    "`EL_LEASE_LOST` when that lease is no longer the model's live lease (released, expired, or taken over).",
  params: Type.Object({ model: ModelName }),
  querystring: Type.Object({ lease: Type.Optional(Uuid) }, closed),
  accepts: 'multipart',
  response: { 201: Type.Object({ version: VersionName }), 409: ErrorResponse, 422: ErrorResponse },
});

export const listModels = endpoint({
  method: 'GET',
  url: '/v1/models',
  scope: 'trainer',
  summary: 'Every registered model with its rollout',
  response: { 200: Type.Object({ models: Type.Array(ModelEntry) }) },
});

export const listVersions = endpoint({
  method: 'GET',
  url: '/v1/models/:model/versions',
  scope: 'trainer',
  summary: 'Versions of a model, newest first, with lineage',
  params: Type.Object({ model: ModelName }),
  response: { 200: Type.Object({ model: ModelName, versions: Type.Array(Version) }), 404: ErrorResponse },
});

export const getVersion = endpoint({
  method: 'GET',
  url: '/v1/models/:model/versions/:version',
  scope: 'trainer',
  summary: 'One version: artifacts, metadata and lineage',
  params: Type.Object({ model: ModelName, version: VersionName }),
  response: { 200: Version, 404: ErrorResponse },
});

// ── rollout ─────────────────────────────────────────────────────────────────────────────────────────────

const writeResponses = { 200: Rollout, 404: ErrorResponse, 409: ErrorResponse, 422: ErrorResponse };

export const getRollout = endpoint({
  method: 'GET',
  url: '/v1/models/:model/rollout',
  scope: 'trainer',
  summary: 'Stable, canary, canary percent and auto policy',
  params: Type.Object({ model: ModelName }),
  response: { 200: Rollout, 404: ErrorResponse },
});

export const putRollout = endpoint({
  method: 'PUT',
  url: '/v1/models/:model/rollout',
  scope: 'trainer',
  summary: "Set the rollout (a live canary's percent may only go up)",
  params: Type.Object({ model: ModelName }),
  body: RolloutUpdate,
  response: writeResponses,
});

/** The optional body of promote and rollback. */
export const ReasonBody = Type.Object({ reason: Type.Optional(Reason) }, closed);

export const promoteCanary = endpoint({
  method: 'POST',
  url: '/v1/models/:model/rollout/promote',
  scope: 'admin',
  summary: 'Make the canary the stable version; body { reason? }',
  params: Type.Object({ model: ModelName }),
  body: ReasonBody,
  bodyOptional: true,
  response: writeResponses,
});

export const rollbackCanary = endpoint({
  method: 'POST',
  url: '/v1/models/:model/rollout/rollback',
  scope: 'admin',
  summary: 'End the canary: everyone back on stable; body { reason? }',
  params: Type.Object({ model: ModelName }),
  body: ReasonBody,
  bodyOptional: true,
  response: writeResponses,
});

export const postCanary = endpoint({
  method: 'POST',
  url: '/v1/models/:model/rollout/canary',
  scope: 'admin',
  summary: 'Start a canary of any registered version at a percent; body { version, percent, reason }',
  description:
    'Replaces a live canary (its devices go to the new one or back to stable, as their bucket says); stable and the ' +
    'automatic policy stay. 422 `EL_INVALID_ROLLOUT` when the version is stable, unknown, or there is no stable version.',
  params: Type.Object({ model: ModelName }),
  body: StartCanaryRequest,
  response: writeResponses,
});

export const postCanaryPercent = endpoint({
  method: 'POST',
  url: '/v1/models/:model/rollout/percent',
  scope: 'admin',
  summary: "Raise the live canary's percent; body { percent, reason }",
  description:
    'A device that ran the canary is never sent back while it lives, so the percent only goes up: 422 ' +
    '`EL_INVALID_ROLLOUT` for a lower one (roll back to end the canary), 409 `EL_NO_CANARY` without a canary.',
  params: Type.Object({ model: ModelName }),
  body: CanaryPercentRequest,
  response: writeResponses,
});

export const pauseAuto = endpoint({
  method: 'POST',
  url: '/v1/models/:model/rollout/pause',
  scope: 'admin',
  summary: 'Pause the automatic canary policy (the controller leaves the rollout alone); body { reason }',
  description: '409 `EL_NO_AUTO_POLICY` when the model has no automatic policy to pause.',
  params: Type.Object({ model: ModelName }),
  body: RequiredReason,
  response: writeResponses,
});

export const resumeAuto = endpoint({
  method: 'POST',
  url: '/v1/models/:model/rollout/resume',
  scope: 'admin',
  summary: 'Resume the paused automatic canary policy; body { reason }',
  description:
    'The analysis window restarts now, so the controller judges only traffic seen after the resume. 409 ' +
    '`EL_NO_AUTO_POLICY` when the model has no automatic policy.',
  params: Type.Object({ model: ModelName }),
  body: RequiredReason,
  response: writeResponses,
});

export const getCanaryDecision = endpoint({
  method: 'GET',
  url: '/v1/models/:model/rollout/decision',
  scope: 'admin',
  summary: "The automatic canary's next decision and why, judged on its current window (nothing is written)",
  params: Type.Object({ model: ModelName }),
  response: { 200: CanaryDecision, 404: ErrorResponse },
});

export const getRolloutHistory = endpoint({
  method: 'GET',
  url: '/v1/models/:model/rollout/history',
  scope: 'admin',
  summary: 'Audit log of rollout changes and controller decisions, newest first',
  params: Type.Object({ model: ModelName }),
  querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }),
  response: { 200: RolloutHistory },
});

// Trainer scope, not admin (design.md said admin): the trainer's drift trigger reads it, and the report holds aggregates
// only; an admin key handed to a trainer would also let it label, promote and roll back.
export const getMetrics = endpoint({
  method: 'GET',
  url: '/v1/models/:model/metrics',
  scope: 'trainer',
  summary: 'Per-version counts, rates, latency and drift, in total and per time bucket',
  params: Type.Object({ model: ModelName }),
  querystring: Type.Object({
    since: Type.Optional(Timestamp),
    until: Type.Optional(Timestamp),
    bucket: Type.Integer({ minimum: 1, maximum: 31 * 86_400, default: 3600 }),
  }),
  response: { 200: MetricsReport, 400: ErrorResponse },
});

export const getBlindLoop = endpoint({
  method: 'GET',
  url: '/v1/models/:model/blind-loop',
  scope: 'trainer',
  summary: 'Per version: is the loop blind (a degenerate confidence histogram: nothing low-confidence to learn from)?',
  description:
    'Stable, canary and every version with stats in [since, until) (default: the last 24 hours). `blindLoop.blind` is true when, over at least ' +
    '`minPredictions` predictions, none was low-confidence or at least `maxTopBinShare` of them fell in the top confidence bin. ' +
    'A trainer reads it before it publishes (the same rule is `blindLoopOf` in @edgeloop/protocol).',
  params: Type.Object({ model: ModelName }),
  querystring: Type.Object({
    since: Type.Optional(Timestamp),
    until: Type.Optional(Timestamp),
    minPredictions: Type.Optional(Type.Integer({ minimum: 1, maximum: 1e9 })),
    maxTopBinShare: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
  }),
  response: { 200: BlindLoopReport, 400: ErrorResponse },
});

/** Every endpoint, for route tables and documents. */
export const endpoints = {
  getHealth,
  getReady,
  postEvents,
  getManifest,
  getArtifact,
  getReviewQueue,
  postLabel,
  deleteLabel,
  postBatch,
  getPendingLabels,
  listBatches,
  getBatch,
  getBatchExamples,
  getBatchLineage,
  getUnreported,
  putGolden,
  getGolden,
  putBaseData,
  getBaseData,
  postVersion,
  listModels,
  listVersions,
  getVersion,
  getRollout,
  putRollout,
  promoteCanary,
  rollbackCanary,
  postCanary,
  postCanaryPercent,
  pauseAuto,
  resumeAuto,
  getCanaryDecision,
  getRolloutHistory,
  getMetrics,
  getBlindLoop,
  getLease,
  claimLease,
  renewLease,
  releaseLease,
  claimNextLease,
} as const;
