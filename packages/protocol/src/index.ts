export {
  Uuid,
  ModelName,
  VersionName,
  DeviceId,
  Sha256Hex,
  Label,
  Timestamp,
  Tensor,
  PredictionEvent,
  CorrectionEvent,
  StatsEvent,
  ErrorEvent,
  Event,
  IngestRequest,
  IngestResponse,
  Rejection,
  ErrorResponse,
  ArtifactFormat,
  Artifact,
  InputSpec,
  InputLayout,
  OutputKind,
  Policy,
  Channel,
  Manifest,
  AutoPolicy,
  Rollout,
  BatchCounts,
  Batch,
  Split,
  Example,
  GateMetric,
  GateReport,
  OutputSpec,
  VersionMeta,
  Version,
  MAX_EVENTS_PER_REQUEST,
  MAX_BODY_BYTES,
} from './schemas.js';
export type { TSchema } from './schemas.js';
export { checkEvent } from './validate.js';
// inputSpecProblem and modelInputShape: `@edgeloop/protocol/model-io` (a subpath, so a browser bundle that does not
// use them never carries them).
export {
  BlindLoop,
  BLIND_LOOP_DEFAULTS,
  blindLoopOf,
  type BlindLoopOptions,
  type ConfidenceFigures,
} from './blind-loop.js';
export { murmur3_32, bucketOf, inCanary } from './bucketing.js';
export { newId, isUuid, uuidv7Time, MODEL_NAME_RE, SHA256_RE } from './ids.js';
export { sha256Hex } from './hash.js';
export {
  endpoint,
  type Endpoint,
  type EndpointScope,
  type HttpMethod,
  type BodyEncoding,
  type Stream,
} from './api/endpoint.js';
export * from './api/endpoints.js';
export {
  BatchId,
  Reason,
  PendingLabels,
  LineageSource,
  Lineage,
  QueueItem,
  ReviewQueue,
  Review,
  LabelRequest,
  RolloutUpdate,
  AuditAction,
  AuditEntry,
  RolloutHistory,
  ModelEntry,
  Drift,
  SeriesPoint,
  VersionReport,
  MetricsReport,
  BlindLoopReport,
} from './api/documents.js';
export {
  Lease,
  LeaseHolder,
  LeaseRenewal,
  LeaseRequest,
  LeaseTtl,
  NextLease,
  NextLeaseRequest,
  MAX_LEASE_MODELS,
  MIN_LEASE_TTL_MS,
  MAX_LEASE_TTL_MS,
} from './api/leases.js';
export { call, pathOf, apiErrorOf, ApiError, type Answer, type CallArgs, type CallOptions } from './api/call.js';
