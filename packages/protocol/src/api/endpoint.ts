/**
 * The shape of one HTTP endpoint's contract. The collector registers its route from it, the OpenAPI document
 * and the key-scope check read it, and `call()` builds requests and types answers from it: a field is
 * defined once, so renaming it fails the build wherever it is used.
 */
import type { TObject, TSchema } from 'typebox';

/** The key scope a route needs: `none` for probes; admin ⊃ trainer ⊃ ingest. */
export type EndpointScope = 'none' | 'ingest' | 'trainer' | 'admin';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** How a request body is sent: JSON (default), NDJSON lines, or multipart/form-data (built by the caller). */
export type BodyEncoding = 'json' | 'ndjson' | 'multipart';

/** What a 200 carries when it is not one JSON document: NDJSON lines of `line`, or raw bytes. */
export type Stream = { type: 'ndjson'; line: TSchema } | { type: 'bytes' };

export interface Endpoint {
  method: HttpMethod;
  /** Fastify-style path: `:name` segments are filled from `params`. */
  url: string;
  scope: EndpointScope;
  summary: string;
  description?: string;
  params?: TObject;
  querystring?: TObject;
  body?: TSchema;
  /** The body may be left out (the route then reads `body` itself, and the schema documents it). */
  bodyOptional?: boolean;
  /** Request body encoding when it is not JSON. */
  accepts?: Exclude<BodyEncoding, 'json'>;
  /** A 200 that is a stream, not a JSON document (its `response` then lists only errors and 304). */
  stream?: Stream;
  /** One schema per status code (or `4xx`/`5xx`). */
  response: Record<string, TSchema>;
}

/** Declares an endpoint, keeping its literal types (the one way specs are written). */
export function endpoint<const E extends Endpoint>(spec: E): E {
  return spec;
}
