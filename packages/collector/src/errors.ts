/**
 * The collector's error catalogue. Each `code` is also the HTTP body's `code` field and is documented in
 * ERRORS.md (a test keeps the two in sync). Messages tell the caller what to do.
 */
import createError from '@fastify/error';

export const EL_UNAUTHORIZED = createError(
  'EL_UNAUTHORIZED',
  'Missing or unknown key: send "Authorization: Bearer <key>" (ingest routes also accept ?key=)',
  401,
);
export const EL_FORBIDDEN = createError('EL_FORBIDDEN', 'This key has scope "%s" but the route needs "%s"', 403);
export const EL_INVALID_BODY = createError('EL_INVALID_BODY', 'Invalid request: %s', 400);
export const EL_INVALID_EVENT = createError('EL_INVALID_EVENT', 'Invalid event: %s', 422);
export const EL_TOO_MANY_EVENTS = createError('EL_TOO_MANY_EVENTS', 'At most %s events per request: split the batch', 413);
export const EL_BODY_TOO_LARGE = createError('EL_BODY_TOO_LARGE', 'Body over %s bytes after decoding: send smaller batches', 413);
export const EL_TOO_MANY_PARTS = createError(
  'EL_TOO_MANY_PARTS',
  'The upload has more than %s: send one "meta" part and one file part per artifact',
  413,
);
export const EL_ARTIFACT_TOO_LARGE = createError(
  'EL_ARTIFACT_TOO_LARGE',
  'An artifact file is over %s bytes: split the weights into several shard files or make the model smaller',
  413,
);
export const EL_UNSUPPORTED_ENCODING = createError('EL_UNSUPPORTED_ENCODING', 'Content-Encoding "%s" is not supported: send identity or gzip', 415);
export const EL_BAD_GZIP = createError('EL_BAD_GZIP', 'The gzip body could not be decoded: %s', 400);
export const EL_UNSUPPORTED_MEDIA_TYPE = createError('EL_UNSUPPORTED_MEDIA_TYPE', 'Content-Type "%s" is not accepted here: send %s', 415);
export const EL_INTERNAL = createError('EL_INTERNAL', 'Internal error: the collector logged the details', 500);
export const EL_STORAGE_UNAVAILABLE = createError(
  'EL_STORAGE_UNAVAILABLE',
  'Storage is unavailable (%s); nothing was stored, retry after the Retry-After delay',
  503,
);
export const EL_SHUTTING_DOWN = createError('EL_SHUTTING_DOWN', 'The collector is shutting down; retry against another instance or later', 503);
export const EL_RATE_LIMITED = createError('EL_RATE_LIMITED', 'Rate limit exceeded; retry after %s seconds', 429);
export const EL_NOT_FOUND = createError('EL_NOT_FOUND', '%s not found', 404);
export const EL_MODEL_NOT_FOUND = createError('EL_MODEL_NOT_FOUND', 'Model "%s" has no registered version yet: publish one with edgeloop-trainer', 404);
export const EL_VERSION_EXISTS = createError('EL_VERSION_EXISTS', 'Version "%s" of model "%s" exists and is immutable: publish a new version name', 409);
export const EL_INVALID_ROLLOUT = createError('EL_INVALID_ROLLOUT', 'Invalid rollout: %s', 422);
export const EL_EMPTY_BATCH = createError('EL_EMPTY_BATCH', 'Nothing labeled since the last batch of model "%s": collect or review more labels first', 409);
export const EL_INVALID_ARTIFACT = createError('EL_INVALID_ARTIFACT', 'Invalid artifact: %s', 422);
export const EL_INVALID_VERSION = createError('EL_INVALID_VERSION', 'Invalid version: %s', 422);
export const EL_NO_CANARY = createError('EL_NO_CANARY', 'Model "%s" has no canary to %s: start one with PUT /v1/models/:model/rollout', 409);
export const EL_ROLLOUT_CONFLICT = createError('EL_ROLLOUT_CONFLICT', 'The rollout of model "%s" changed while this request ran: read it again and retry', 409);
export const EL_INVALID_CONFIG = createError('EL_INVALID_CONFIG', 'Invalid collector configuration: %s', 500);
export const EL_NOT_A_PREDICTION = createError('EL_NOT_A_PREDICTION', 'Event "%s" is a %s event: only a prediction can be labeled, so label the prediction it refers to', 422);
export const EL_INVALID_EXAMPLE = createError('EL_INVALID_EXAMPLE', 'Invalid example %s: %s', 422);
export const EL_GOLDEN_EXISTS = createError(
  'EL_GOLDEN_EXISTS',
  'Model "%s" already has golden set "%s" and it is immutable: to replace it, an admin key sends the new set with ?replaces=%s',
  409,
);
export const EL_NO_GOLDEN_SET = createError('EL_NO_GOLDEN_SET', 'Model "%s" has no golden set yet: upload one with PUT /v1/models/%s/golden', 404);
export const EL_ADMIN_NOT_BUILT = createError('EL_ADMIN_NOT_BUILT', 'The admin page is not built (%s is missing): run npm run build -w @edgeloop/collector', 503);

/** Every error constructor, for the docs-sync test and the OpenAPI document. */
export const catalogue = {
  EL_UNAUTHORIZED,
  EL_FORBIDDEN,
  EL_INVALID_BODY,
  EL_INVALID_EVENT,
  EL_TOO_MANY_EVENTS,
  EL_BODY_TOO_LARGE,
  EL_TOO_MANY_PARTS,
  EL_ARTIFACT_TOO_LARGE,
  EL_UNSUPPORTED_ENCODING,
  EL_BAD_GZIP,
  EL_UNSUPPORTED_MEDIA_TYPE,
  EL_INTERNAL,
  EL_STORAGE_UNAVAILABLE,
  EL_SHUTTING_DOWN,
  EL_RATE_LIMITED,
  EL_NOT_FOUND,
  EL_MODEL_NOT_FOUND,
  EL_VERSION_EXISTS,
  EL_INVALID_ROLLOUT,
  EL_EMPTY_BATCH,
  EL_INVALID_ARTIFACT,
  EL_INVALID_CONFIG,
  EL_NOT_A_PREDICTION,
  EL_INVALID_EXAMPLE,
  EL_GOLDEN_EXISTS,
  EL_NO_GOLDEN_SET,
  EL_ADMIN_NOT_BUILT,
  EL_INVALID_VERSION,
  EL_NO_CANARY,
  EL_ROLLOUT_CONFLICT,
} as const;
