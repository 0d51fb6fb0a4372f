/**
 * A route's options from its spec in `@edgeloop/protocol`: method, url, the key scope (read by the auth hook,
 * the route table and the OpenAPI document) and the schemas, typed so the TypeBox provider types
 * `request.params`, `query`, `body` and the reply from the same objects.
 */
import type { Endpoint } from '@edgeloop/protocol';

type Part<E, K extends string> = E extends { [P in K]: infer S } ? { [P in K]: S } : unknown;
// A body the route reads itself (optional, NDJSON, multipart) is documented by the spec, not validated by Fastify.
type Body<E> = E extends { bodyOptional: true } | { accepts: string } ? unknown : Part<E, 'body'>;

/** The Fastify schema of `E`. */
export type SchemaOf<E extends Endpoint> = { summary: string; description?: string; response: E['response'] } & Part<
  E,
  'params'
> &
  Part<E, 'querystring'> &
  Body<E>;

/** `app.route({ ...routeOf(spec), handler })`. */
export function routeOf<const E extends Endpoint>(spec: E) {
  const schema: Record<string, unknown> = { summary: spec.summary, response: spec.response };
  if (spec.description) schema.description = spec.description;
  if (spec.params) schema.params = spec.params;
  if (spec.querystring) schema.querystring = spec.querystring;
  if (spec.body && !spec.bodyOptional && !spec.accepts) schema.body = spec.body;
  return {
    method: spec.method,
    url: spec.url,
    config: { scope: spec.scope, endpoint: spec as Endpoint },
    schema: schema as SchemaOf<E>,
  };
}
