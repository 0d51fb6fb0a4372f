/**
 * How every error leaves the collector: `{ statusCode, code, error, message }`, where `code` is in the catalogue
 * (src/errors.ts, documented in ERRORS.md) and `statusCode` is the one the catalogue gives it. Errors from
 * Fastify and its plugins (`FST_…`) and from libraries are mapped here; whatever is not foreseen becomes
 * `EL_INVALID_BODY` (a client error) or `EL_INTERNAL`, so no other code ever reaches a client.
 */
import { maxHeaderSize } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { MAX_BODY_BYTES } from '@edgeloop/protocol';
import { StorageUnavailableError } from './storage/index.js';
import { UPLOAD_LIMITS } from './registry/publication.js';
import {
  catalogue,
  EL_ARTIFACT_TOO_LARGE,
  EL_BODY_TOO_LARGE,
  EL_HEADERS_TOO_LARGE,
  EL_INTERNAL,
  EL_INVALID_BODY,
  EL_REQUEST_TIMEOUT,
  EL_STORAGE_UNAVAILABLE,
  EL_TOO_MANY_PARTS,
  EL_UNSUPPORTED_MEDIA_TYPE,
} from './errors.js';

const CATALOGUED = new Set<string>(Object.keys(catalogue));

const plural = (n: number, one: string) => `${n} ${n === 1 ? one : `${one}s`}`;

/** The catalogue's error for `err` (itself when it already is one). */
export function catalogued(err: FastifyError, request: FastifyRequest): FastifyError {
  if (err instanceof StorageUnavailableError) return new EL_STORAGE_UNAVAILABLE(err.message);
  if (err.code && CATALOGUED.has(err.code)) return err;
  if (err.validation)
    return new EL_INVALID_BODY(`${err.validationContext ?? 'body'}${err.message.replace(/^[a-z]+/, '')}`);
  const contentType = request.headers['content-type'] ?? '';
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new EL_BODY_TOO_LARGE(request.routeOptions?.bodyLimit ?? MAX_BODY_BYTES);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new EL_UNSUPPORTED_MEDIA_TYPE(contentType, 'a type this route accepts');
    // @fastify/multipart (version uploads)
    case 'FST_FILES_LIMIT':
      return new EL_TOO_MANY_PARTS(plural(UPLOAD_LIMITS.files, 'file'));
    case 'FST_FIELDS_LIMIT':
      return new EL_TOO_MANY_PARTS(plural(UPLOAD_LIMITS.fields, 'field'));
    case 'FST_PARTS_LIMIT':
      return new EL_TOO_MANY_PARTS(plural(UPLOAD_LIMITS.parts, 'part'));
    case 'FST_REQ_FILE_TOO_LARGE':
      return new EL_ARTIFACT_TOO_LARGE(UPLOAD_LIMITS.fileSize);
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new EL_UNSUPPORTED_MEDIA_TYPE(contentType, 'multipart/form-data');
  }
  const status = err.statusCode ?? 500;
  if (err instanceof SyntaxError || err.code?.startsWith('FST_ERR_CTP_')) return new EL_INVALID_BODY(err.message);
  if (status === 413) return new EL_BODY_TOO_LARGE(request.routeOptions?.bodyLimit ?? MAX_BODY_BYTES);
  if (status === 415) return new EL_UNSUPPORTED_MEDIA_TYPE(contentType, 'a type this route accepts');
  // Any other client error (a URL Fastify cannot decode, a prototype key in a multipart field name, …).
  if (status >= 400 && status < 500) return new EL_INVALID_BODY(err.message);
  return new EL_INTERNAL();
}

/** Sends `err` in the error format: 503s carry `Retry-After`, and 500s are logged and never explained to the client. */
export function sendError(
  err: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
  retryAfterSec: number,
): FastifyReply {
  const error = catalogued(err, request);
  const statusCode = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
  if (statusCode === 503) reply.header('retry-after', String(retryAfterSec));
  if (statusCode >= 500 && statusCode !== 503) request.log.error({ err }, 'request failed');
  const message = statusCode >= 500 && statusCode !== 503 ? new EL_INTERNAL().message : error.message;
  // A catalogue error may carry fields a client acts on (EL_LEASE_HELD: who holds the lease, until when).
  const details = statusCode < 500 ? (error as { details?: Record<string, unknown> }).details : undefined;
  return reply
    .status(statusCode)
    .send({ ...details, statusCode, code: error.code, error: httpReason(statusCode), message });
}

/**
 * Answers, in the same format, a request Node's HTTP parser refused before any route saw it (Fastify's
 * `clientErrorHandler`): 408 when it did not arrive in time, 431 for oversized headers, else 400. The connection
 * is closed, as Node does for a request it could not parse.
 */
export function sendClientError(err: NodeJS.ErrnoException, socket: Duplex, requestTimeoutMs: number): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const error =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new EL_REQUEST_TIMEOUT(requestTimeoutMs)
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? new EL_HEADERS_TOO_LARGE(maxHeaderSize)
        : new EL_INVALID_BODY(`the request is not well-formed HTTP/1.1 (${err.code ?? 'parse error'})`);
  const statusCode = error.statusCode!;
  const reason = httpReason(statusCode);
  const body = JSON.stringify({ statusCode, code: error.code, error: reason, message: error.message });
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${statusCode} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy(err);
}

function httpReason(status: number): string {
  const reasons: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    408: 'Request Timeout',
    409: 'Conflict',
    413: 'Payload Too Large',
    415: 'Unsupported Media Type',
    422: 'Unprocessable Entity',
    429: 'Too Many Requests',
    431: 'Request Header Fields Too Large',
    500: 'Internal Server Error',
    503: 'Service Unavailable',
  };
  return reasons[status] ?? 'Error';
}
