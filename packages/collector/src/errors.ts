/**
 * The collector's error catalogue. Each `code` is also the HTTP body's `code` field and is documented in
 * ERRORS.md (a test keeps the two in sync). Messages tell the caller what to do.
 */
import createError, { type FastifyErrorConstructor } from '@fastify/error';

const defined = new Map<string, FastifyErrorConstructor>();

/** Defines one catalogue error: its code (also the HTTP body's `code`), message template and status. */
function code<C extends string>(name: C, message: string, status: number): FastifyErrorConstructor<{ code: C }> {
  const E = createError(name, message, status);
  defined.set(name, E);
  return E;
}

export const EL_UNAUTHORIZED = code(
  'EL_UNAUTHORIZED',
  'Missing or unknown key: send "Authorization: Bearer <key>" (ingest routes also accept ?key=)',
  401,
);
export const EL_FORBIDDEN = code('EL_FORBIDDEN', 'This key has scope "%s" but the route needs "%s"', 403);
export const EL_INVALID_BODY = code('EL_INVALID_BODY', 'Invalid request: %s', 400);
export const EL_INVALID_EVENT = code('EL_INVALID_EVENT', 'Invalid event: %s', 422);
export const EL_TOO_MANY_EVENTS = code('EL_TOO_MANY_EVENTS', 'At most %s events per request: split the batch', 413);
export const EL_BODY_TOO_LARGE = code(
  'EL_BODY_TOO_LARGE',
  'Body over %s bytes after decoding: send smaller batches',
  413,
);
export const EL_TOO_MANY_PARTS = code(
  'EL_TOO_MANY_PARTS',
  'The upload has more than %s: send one "meta" part and one file part per artifact',
  413,
);
export const EL_ARTIFACT_TOO_LARGE = code(
  'EL_ARTIFACT_TOO_LARGE',
  'An artifact file is over %s bytes: split the weights into several shard files or make the model smaller',
  413,
);
export const EL_UNSUPPORTED_ENCODING = code(
  'EL_UNSUPPORTED_ENCODING',
  'Content-Encoding "%s" is not supported: send identity or gzip',
  415,
);
export const EL_BAD_GZIP = code('EL_BAD_GZIP', 'The gzip body could not be decoded: %s', 400);
export const EL_UNSUPPORTED_MEDIA_TYPE = code(
  'EL_UNSUPPORTED_MEDIA_TYPE',
  'Content-Type "%s" is not accepted here: send %s',
  415,
);
export const EL_INTERNAL = code('EL_INTERNAL', 'Internal error: the collector logged the details', 500);
export const EL_REQUEST_TIMEOUT = code(
  'EL_REQUEST_TIMEOUT',
  'The request did not arrive in full within %s ms: send it at once, or on a faster connection',
  408,
);
export const EL_HEADERS_TOO_LARGE = code(
  'EL_HEADERS_TOO_LARGE',
  'The request headers are over %s bytes: send fewer or shorter headers',
  431,
);
export const EL_STORAGE_UNAVAILABLE = code(
  'EL_STORAGE_UNAVAILABLE',
  'Storage is unavailable (%s); nothing was stored, retry after the Retry-After delay',
  503,
);
export const EL_SHUTTING_DOWN = code(
  'EL_SHUTTING_DOWN',
  'The collector is shutting down; retry against another instance or later',
  503,
);
export const EL_RATE_LIMITED = code('EL_RATE_LIMITED', 'Rate limit exceeded; retry after %s seconds', 429);
export const EL_NOT_FOUND = code('EL_NOT_FOUND', '%s not found', 404);
export const EL_MODEL_NOT_FOUND = code(
  'EL_MODEL_NOT_FOUND',
  'Model "%s" has no registered version yet: publish one with edgeloop-trainer',
  404,
);
export const EL_VERSION_EXISTS = code(
  'EL_VERSION_EXISTS',
  'Version "%s" of model "%s" exists and is immutable: publish a new version name',
  409,
);
export const EL_INVALID_ROLLOUT = code('EL_INVALID_ROLLOUT', 'Invalid rollout: %s', 422);
export const EL_EMPTY_BATCH = code(
  'EL_EMPTY_BATCH',
  'Nothing labeled since the last batch of model "%s": collect or review more labels first',
  409,
);
export const EL_INVALID_ARTIFACT = code('EL_INVALID_ARTIFACT', 'Invalid artifact: %s', 422);
export const EL_INVALID_VERSION = code('EL_INVALID_VERSION', 'Invalid version: %s', 422);
export const EL_NO_CANARY = code(
  'EL_NO_CANARY',
  'Model "%s" has no canary to %s: start one with PUT /v1/models/:model/rollout',
  409,
);
export const EL_NO_AUTO_POLICY = code(
  'EL_NO_AUTO_POLICY',
  'Model "%s" has no automatic canary policy to %s: set one with PUT /v1/models/:model/rollout',
  409,
);
export const EL_ROLLOUT_CONFLICT = code(
  'EL_ROLLOUT_CONFLICT',
  'The rollout of model "%s" changed while this request ran: read it again and retry',
  409,
);
export const EL_INVALID_CONFIG = code('EL_INVALID_CONFIG', 'Invalid collector configuration: %s', 500);
export const EL_NOT_A_PREDICTION = code(
  'EL_NOT_A_PREDICTION',
  'Event "%s" is a %s event: only a prediction can be labeled, so label the prediction it refers to',
  422,
);
export const EL_UNKNOWN_LABEL = code(
  'EL_UNKNOWN_LABEL',
  'Label "%s" is not one of the labels of model "%s" (%s): label the input with one of those',
  422,
);
export const EL_LABEL_KIND = code('EL_LABEL_KIND', 'Model "%s" is %s: label it with %s', 422);
export const EL_REVIEW_IN_BATCH = code(
  'EL_REVIEW_IN_BATCH',
  'Review "%s" was taken by a batch already, and batches are immutable: label the input again instead of undoing',
  409,
);
export const EL_INVALID_EXAMPLE = code('EL_INVALID_EXAMPLE', 'Invalid example %s: %s', 422);
export const EL_GOLDEN_EXISTS = code(
  'EL_GOLDEN_EXISTS',
  'Model "%s" already has golden set "%s" and it is immutable: to replace it, an admin key sends the new set with ?replaces=%s',
  409,
);
export const EL_NO_GOLDEN_SET = code(
  'EL_NO_GOLDEN_SET',
  'Model "%s" has no golden set yet: upload one with PUT /v1/models/%s/golden',
  404,
);
export const EL_NO_BASE_DATA = code(
  'EL_NO_BASE_DATA',
  'Model "%s" has no base data yet: upload its training set (or a sample) with PUT /v1/models/%s/base-data',
  404,
);
export const EL_LEASE_HELD = code(
  'EL_LEASE_HELD',
  'Model "%s" is being trained by "%s" (lease until %s): wait, then claim it again once it is released or has expired',
  409,
);
export const EL_LEASE_LOST = code(
  'EL_LEASE_LOST',
  'Lease "%s" of model "%s" is no longer held (%s): stop this training job and publish nothing; claim the lease again to start over',
  409,
);
export const EL_ADMIN_NOT_BUILT = code(
  'EL_ADMIN_NOT_BUILT',
  'The admin page is not built (%s is missing): run npm run build -w @edgeloop/collector',
  503,
);

/** Every error constructor by code, for the error handler, the docs-sync test and the OpenAPI document. */
export const catalogue: Readonly<Record<string, FastifyErrorConstructor>> = Object.freeze(Object.fromEntries(defined));
