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
  VersionMeta,
  Version,
  MAX_EVENTS_PER_REQUEST,
  MAX_BODY_BYTES,
} from './schemas.js';
export type { TSchema } from './schemas.js';
export { checkEvent } from './validate.js';
export { murmur3_32, bucketOf, inCanary } from './bucketing.js';
export { newId, isUuid, uuidv7Time, MODEL_NAME_RE, SHA256_RE } from './ids.js';
export { sha256Hex } from './hash.js';
export { endpoint, type Endpoint, type EndpointScope, type HttpMethod, type BodyEncoding, type Stream } from './api/endpoint.js';
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
} from './api/documents.js';
export { call, pathOf, apiErrorOf, ApiError, type Answer, type CallArgs, type CallOptions } from './api/call.js';
