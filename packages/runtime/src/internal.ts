/**
 * `@edgeloop/runtime/internal`: the runtime's parts, for its own tests, benchmarks and tools that share its
 * storage. Not part of the public API: names here change without a major version.
 */
export { upgrade, Database, DB_NAME, DB_VERSION, type EdgeloopDB, type StoredEvent } from './outbox/db.js';
export { Outbox, OUTBOX_DEFAULTS, serialise } from './outbox/outbox.js';
export { ManifestClient } from './model/manifest.js';
export { parseRetryAfter, backoffMs, batchBody } from './outbox/transport.js';
export { score, type Scored } from './confidence.js';
export { probabilityProblem, scoreMultiLabel, channelTransform, compileIO, type ModelIO } from './model/io.js';
export { keepReason, type KeepReason } from './policy.js';
export { StatsWindow, statsEvent } from './stats.js';
export { WindowCopies } from './worker/copies.js';
export { codes, RuntimeError, describeError, type ErrorCode } from './errors.js';
export { statsId, statsToken } from './id.js';
export { newId } from '@edgeloop/protocol';
export { RecentPredictions, type Recent } from './recent.js';
export { loadOrt, ortHandler, type OrtPath } from './engines/ort.js';
export { Turns } from './engines/serial.js';
export { MissingLibrary, importLibrary } from './engines/library.js';
export { ortWasm, ortWebgpu, tfjsWasm, tfjsWebgpu, tfjsCpu } from './engines/builtin.js';
