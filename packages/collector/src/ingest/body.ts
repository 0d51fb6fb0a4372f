/**
 * The ingest body decoder. Devices send JSON as `application/json` (normal sends) or `text/plain` (unload-time
 * sends, which must avoid a CORS preflight), optionally gzipped. The size limit applies to the DECODED body so a
 * small gzip bomb is stopped by zlib at the cap instead of being inflated in memory.
 */
import { gunzip, type ZlibOptions } from 'node:zlib';
import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  EL_BAD_GZIP,
  EL_BODY_TOO_LARGE,
  EL_INVALID_BODY,
  EL_UNSUPPORTED_ENCODING,
  EL_UNSUPPORTED_MEDIA_TYPE,
} from '../errors.js';

// The only ways a lone surrogate or U+0000 gets past strict UTF-8 and JSON.parse: a \uD800–\uDFFF or \u0000 escape.
const SUSPECT_ESCAPE = /\\u(?:[dD][89a-fA-F]|0000)/;

// gzip can grow incompressible data by a few bytes per 16 KiB block; the raw cap leaves room for that.
const GZIP_SLACK = 16_384;

function gunzipCapped(raw: Buffer, limit: number): Promise<Buffer> {
  const options: ZlibOptions = { maxOutputLength: limit };
  return new Promise((resolve, reject) => gunzip(raw, options, (err, out) => (err ? reject(err) : resolve(out))));
}

/** Undoes `Content-Encoding` (identity or gzip) with the decoded size capped at `limit` bytes. */
export async function decodeContent(raw: Buffer, encoding: string | undefined, limit: number): Promise<Buffer> {
  const enc = (encoding ?? '').trim().toLowerCase();
  if (enc === '' || enc === 'identity') {
    if (raw.length > limit) throw new EL_BODY_TOO_LARGE(limit);
    return raw;
  }
  if (enc !== 'gzip' && enc !== 'x-gzip') throw new EL_UNSUPPORTED_ENCODING(enc);
  try {
    return await gunzipCapped(raw, limit);
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new EL_BODY_TOO_LARGE(limit);
    throw new EL_BAD_GZIP((err as Error).message);
  }
}

/** Decodes UTF-8 strictly: a body with invalid byte sequences is refused rather than silently repaired. */
export function decodeUtf8(bytes: Buffer): string {
  if (!isUtf8(bytes)) throw new EL_INVALID_BODY('the body is not valid UTF-8');
  return bytes.toString('utf8');
}

function assertUtf8Charset(request: FastifyRequest): void {
  const type = request.headers['content-type'] ?? '';
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type)?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new EL_UNSUPPORTED_MEDIA_TYPE(type, 'UTF-8 JSON');
  }
}

/**
 * Replaces this plugin context's body parsers with one for JSON sent as `application/json` or `text/plain`,
 * gzip or identity, at most `limit` decoded bytes, parsed with prototype-poisoning protection.
 */
export function useJsonBody(app: FastifyInstance, limit: number): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.decorateRequest('suspectEscapes', false);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['application/json', 'text/plain'],
    { parseAs: 'buffer', bodyLimit: limit + GZIP_SLACK },
    async (request: FastifyRequest, raw: Buffer) => {
      assertUtf8Charset(request);
      const bytes = await decodeContent(raw, request.headers['content-encoding'], limit);
      const text = decodeUtf8(bytes);
      request.suspectEscapes = SUSPECT_ESCAPE.test(text);
      return new Promise<unknown>((resolve, reject) =>
        parseJson(request, text, (err, body) => (err ? reject(err) : resolve(body))),
      );
    },
  );
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Whether the body text has `\uD800`–`\uDFFF` or `\u0000` escapes, so its strings need a closer look. */
    suspectEscapes: boolean;
  }
}
