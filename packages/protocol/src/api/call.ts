/**
 * `call(spec, args)`: the one typed client of the HTTP API. The spec fills the path, encodes the query and the
 * body, and types the answer; a non-2xx answer throws an `ApiError` with the collector's stable `code`.
 * Transport failures (DNS, refused connection, timeout) pass through unchanged.
 */
import type { Static, TSchema } from 'typebox';
import type { Endpoint } from './endpoint.js';

type Success = 200 | 201 | 304;

/** The 2xx answer of `E`: its JSON document, its NDJSON lines, or its bytes (`null` for a 304). */
export type Answer<E extends Endpoint> = E extends { stream: { type: 'bytes' } }
  ? Uint8Array
  : E extends { stream: { type: 'ndjson'; line: infer L extends TSchema } }
    ? Static<L>[]
    : {
        [K in Extract<keyof E['response'], Success>]: E['response'][K] extends TSchema
          ? Static<E['response'][K]>
          : never;
      }[Extract<keyof E['response'], Success>];

type ParamsArg<E> = E extends { params: infer P extends TSchema } ? { params: Static<P> } : { params?: undefined };
type QueryArg<E> = E extends { querystring: infer Q extends TSchema }
  ? { query?: Partial<Static<Q>> }
  : { query?: undefined };
type BodyArg<E> = E extends { accepts: 'multipart' }
  ? { body: FormData }
  : E extends { body: infer B extends TSchema }
    ? E extends { bodyOptional: true }
      ? { body?: Static<B> }
      : { body: Static<B> }
    : { body?: undefined };

export interface CallOptions {
  /** The collector's origin (`https://collector.example`); '' or absent for same-origin calls (the admin page). */
  baseUrl?: string;
  /** Sent as `Authorization: Bearer <key>`. */
  key?: string | null;
  /** More headers (`If-None-Match`, …). */
  headers?: Record<string, string>;
  /** Other fetch options (`signal`, `cache`, `credentials`). */
  init?: Omit<RequestInit, 'method' | 'body' | 'headers'>;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
}

/** What `call` needs for endpoint `E`: params when its url has any, its query, its body. */
export type CallArgs<E extends Endpoint> = ParamsArg<E> & QueryArg<E> & BodyArg<E> & CallOptions;

/** A non-2xx answer: its status and the stable `code` of its body (`HTTP_<status>` when the body had none). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly endpoint: string,
  ) {
    super(message);
  }
}

/** The request path of `spec` with `params` filled in (each one URL-encoded) and `query` appended. */
export function pathOf(spec: Endpoint, params?: Record<string, unknown>, query?: Record<string, unknown>): string {
  const path = spec.url.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => {
    const value = params?.[name];
    if (value === undefined || value === null)
      throw new TypeError(`${spec.method} ${spec.url}: params.${name} is missing`);
    return encodeURIComponent(String(value));
  });
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {}))
    if (value !== undefined && value !== null) search.set(name, String(value));
  const qs = search.toString();
  return qs ? `${path}?${qs}` : path;
}

/** Calls one endpoint; resolves to its typed answer, throws `ApiError` on a non-2xx answer. */
export async function call<const E extends Endpoint>(spec: E, args: CallArgs<E>): Promise<Answer<E>> {
  const a = args as CallOptions & { params?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown };
  const headers: Record<string, string> = { ...a.headers };
  if (a.key) headers.authorization = `Bearer ${a.key}`;
  let body: BodyInit | null = null;
  if (a.body !== undefined) {
    if (spec.accepts === 'multipart') body = a.body as FormData;
    else if (spec.accepts === 'ndjson') {
      headers['content-type'] = 'application/x-ndjson';
      body = (a.body as unknown[]).map((line) => JSON.stringify(line)).join('\n') + '\n';
    } else {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(a.body);
    }
  }
  if (!spec.stream && !headers.accept) headers.accept = 'application/json';
  const path = pathOf(spec, a.params, a.query);
  const res = await (a.fetch ?? fetch)((a.baseUrl ?? '') + path, { ...a.init, method: spec.method, headers, body });
  if (!res.ok && res.status !== 304) throw await apiErrorOf(res, `${spec.method} ${path}`);
  if (res.status === 304) return null as Answer<E>;
  if (spec.stream?.type === 'bytes') return new Uint8Array(await res.arrayBuffer()) as Answer<E>;
  const text = await res.text();
  if (spec.stream?.type === 'ndjson')
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as unknown) as Answer<E>;
  return (text ? JSON.parse(text) : null) as Answer<E>;
}

/** The `ApiError` of a non-2xx answer (its body's `code` and `message` when it is the collector's error format). */
export async function apiErrorOf(res: Response, what: string): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let code = `HTTP_${res.status}`;
  let message = text.slice(0, 500) || res.statusText;
  try {
    const parsed = JSON.parse(text) as { code?: unknown; message?: unknown };
    if (typeof parsed.code === 'string') code = parsed.code;
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // Not JSON (a proxy's error page, say): keep the text.
  }
  return new ApiError(res.status, code, message, what);
}
