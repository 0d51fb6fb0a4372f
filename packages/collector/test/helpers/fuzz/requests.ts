/**
 * Fuzzed requests for every route of the collector's route table: params, query and body drawn from the route's
 * protocol spec (valid, at the bounds, or hostile), sent in each encoding the route takes and some it does not,
 * with the key the route needs or a wrong one. Routes without a spec (probes, the admin page, /metrics,
 * /openapi.json, CORS preflights) get hostile paths, queries and headers.
 */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { Event, Label, postEvents, VersionMeta, VersionName, type Endpoint } from '@edgeloop/protocol';
import type { RouteEntry } from '@edgeloop/collector';
import { valid, type Schema } from './arbitraries.js';
import { draw, type Draw } from './hostile.js';
import { KEYS } from '../stores.js';
import { defaultFiles, meta, multipart } from '../release.js';

/** The routes this fuzz knows how to reach without a spec; any other route without one fails the coverage test. */
export const UNSPECIFIED_ROUTES = new Set([
  'GET /metrics',
  'HEAD /metrics',
  'GET /openapi.json',
  'HEAD /openapi.json',
  'OPTIONS *',
  'GET /admin',
  'HEAD /admin',
  'GET /admin/*',
  'HEAD /admin/*',
]);

/** What a spec types loosely and the fuzz draws more precisely (the route checks these itself). */
function bodySchemaOf(e: Endpoint): Schema | undefined {
  if (e === postEvents)
    return {
      type: 'object',
      required: ['events'],
      properties: { events: { type: 'array', items: Event as Schema, maxItems: 8 } },
      additionalProperties: false,
    };
  if (e.accepts === 'multipart') return VersionMeta as Schema;
  return e.body as Schema | undefined;
}

/** `right`: the route's own scope; `admin`: the widest key, which every route takes. */
export type Credential = 'right' | 'admin' | 'none' | 'garbage' | 'lower' | 'query';

export interface Case {
  params: Draw | null;
  query: Draw | null;
  body: Draw | null;
  /** How the body travels; 'none' sends no body. */
  encoding: string;
  credential: Credential;
  /** A raw hostile path segment put in place of one param, or a raw suffix for routes without params. */
  rawPath: string | null;
  /** A raw query string appended as is. */
  rawQuery: string | null;
  origin: string | null;
}

const RAW_SEGMENTS = [
  '%00',
  '%ZZ',
  '%ED%A0%80',
  '%C0%AF',
  '%FF',
  'a%2Fb',
  '..',
  '%2e%2e',
  'x'.repeat(5000),
  '%F0%9F%98%80',
  ' ',
  '%20',
  '\u00e9',
];
const RAW_QUERIES = [
  'limit=1&limit=2',
  'offset=1e308',
  'a[b]=1',
  '__proto__[x]=1',
  '%00=%00',
  'key=&key=',
  '=',
  '&&&',
  'x=%ZZ',
  'constructor[prototype][x]=1',
];
const ORIGINS = ['https://app.example', 'null', 'http://localhost:5173', '\u0000', 'x'.repeat(3000)];

/** One of `values` `weight` times in `of`, else null. */
const sometimes = (values: string[], weight: number, of: number) =>
  fc.oneof({ weight: of - weight, arbitrary: fc.constant(null) }, { weight, arbitrary: fc.constantFrom(...values) });

/** Which part of a request is hostile: at most one, so that the rest is valid and the request gets far. */
type Focus = 'none' | 'params' | 'query' | 'body' | 'encoding' | 'raw' | 'credential';

/**
 * How a hostile part is changed: as drawn, or (a third of the time each) just past a bound of the spec, where a
 * missing bound shows, or with U+0000 or a lone surrogate inside a string, where a missing store rule shows.
 */
type Stress = 'drawn' | 'bound' | 'taint';

const stressed = (d: Draw | null, stress: Stress): Draw | null => {
  if (!d?.change || stress === 'drawn') return d;
  if (stress === 'bound') return d.beyond !== undefined ? { ...d, change: { ...d.change, how: 'beyond' } } : d;
  return { ...d, change: { ...d.change, how: 'taint' } };
};

const calm = (d: Draw | null, hostile: boolean): Draw | null => (d && !hostile ? { ...d, change: null } : d);

/** The arbitrary of requests for `route`. */
export function caseArb(route: RouteEntry): fc.Arbitrary<Case> {
  const e = route.endpoint;
  const body = e && route.method !== 'GET' && route.method !== 'HEAD' ? bodySchemaOf(e) : undefined;
  const usual = !body ? 'none' : e?.accepts === 'multipart' ? 'multipart' : e?.accepts === 'ndjson' ? 'ndjson' : 'json';
  const odd = !body
    ? ['junk', 'wrong-type']
    : e?.accepts === 'multipart'
      ? ['multipart-no-files', 'multipart-bad-meta', 'json', 'none']
      : e?.accepts === 'ndjson'
        ? ['json', 'json-examples', 'junk', 'invalid-utf8', 'none', 'wrong-type']
        : ['junk', 'invalid-utf8', 'wrong-type', 'none', ...(e === postEvents ? ['text', 'gzip'] : [])];
  const bodyArb = body
    ? e?.accepts === 'multipart'
      ? fc.oneof(draw(body), plausibleMeta)
      : draw(body)
    : fc.constant(null);
  return fc
    .record({
      focus: fc.constantFrom<Focus>(
        'none',
        'none',
        'none',
        'params',
        'query',
        // Bounded numbers in the query are where a missing bound shows (as a 500 from the store).
        ...(e?.querystring ? (['query', 'query'] as const) : []),
        ...(body ? (['body', 'body', 'body', 'body'] as const) : []),
        'encoding',
        'raw',
        'credential',
      ),
      params: e?.params ? draw(e.params as Schema) : fc.constant(null),
      query: e?.querystring ? draw(e.querystring as Schema) : fc.constant(null),
      body: bodyArb,
      encoding: fc.constantFrom(...odd),
      credential: fc.constantFrom<Credential>('none', 'garbage', 'lower', 'query'),
      rawPath: fc.constantFrom(...RAW_SEGMENTS),
      rawQuery: fc.constantFrom(...RAW_QUERIES),
      origin: sometimes(ORIGINS, 1, 4),
      elevated: fc.boolean(),
      stress: fc.constantFrom<Stress>('drawn', 'bound', 'taint'),
    })
    .map(({ focus, stress, ...c }) => ({
      params: calm(stressed(c.params, stress), focus === 'params'),
      query: calm(stressed(c.query, stress), focus === 'query'),
      body: calm(stressed(c.body, stress), focus === 'body'),
      encoding: focus === 'encoding' ? c.encoding : usual,
      credential: focus === 'credential' ? c.credential : c.elevated ? 'admin' : 'right',
      rawPath: focus === 'raw' ? c.rawPath : null,
      rawQuery: focus === 'raw' || focus === 'query' ? c.rawQuery : null,
      origin: c.origin,
    }));
}

/** Version meta that passes the registry's own checks (input and normalisation agree) with fuzzed text in it. */
const plausibleMeta: fc.Arbitrary<Draw> = fc
  .record({
    change: draw({}).map((d) => d.change),
    labels: fc.array(valid(Label as Schema, 'label'), { minLength: 1, maxLength: 4 }),
    codeVersion: valid({ type: 'string', maxLength: 128 }),
    metrics: valid((VersionMeta as Schema).properties!.metrics!),
    trainer: valid((VersionMeta as Schema).properties!.trainer!),
    version: fc.option(valid(VersionName as Schema), { nil: undefined }),
  })
  .map(({ change, ...over }) => ({
    value: meta(Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined))),
    change,
  }));

/** Percent-encodes any UTF-16 string, a lone surrogate as the (invalid) UTF-8 bytes a careless client sends. */
export function encodeAny(s: string): string {
  let out = '';
  for (const ch of s) {
    const u = ch.charCodeAt(0);
    if (ch.length === 1 && u >= 0xd800 && u <= 0xdfff)
      out += [0xe0 | (u >> 12), 0x80 | ((u >> 6) & 0x3f), 0x80 | (u & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    else out += encodeURIComponent(ch);
  }
  return out;
}

const RAW = '\u0001RAW:';

/** A value as URL text; a raw token (`"\u0001RAW:1e999"`) as the token itself. */
const asText = (v: unknown): string =>
  typeof v === 'string'
    ? v.startsWith(RAW)
      ? v.slice(RAW.length)
      : v
    : v === null || v === undefined
      ? ''
      : typeof v === 'object'
        ? JSON.stringify(v)
        : String(v);

/** JSON text of `v`; a `"\u0001RAW:x"` string becomes the raw token x (numbers JSON.stringify cannot write). */
export function jsonText(v: unknown): string {
  return (JSON.stringify(v) ?? '').replace(/"\\u0001RAW:([^"]*)"/g, '$1');
}

/** Encodings that send the drawn body (the others send junk, nothing, or a broken meta part). */
const CARRY_BODY = new Set(['json', 'text', 'gzip', 'ndjson', 'json-examples', 'multipart', 'multipart-no-files']);

export interface Built {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
  /** The params, query and body as sent (after known values were resolved and the change made; no body when the encoding sends none of it). */
  sent: { params: unknown; query: unknown; body: unknown };
  /** Whether the key sent has the route's scope. */
  authorised: boolean;
}

const LOWER: Record<string, string | null> = { admin: KEYS.trainer, trainer: KEYS.ingest, ingest: null, none: null };

/** Builds the request of `c` for `route`; `resolve` picks known values from the store. */
export async function build(route: RouteEntry, c: Case, realise: (d: Draw) => unknown): Promise<Built> {
  const e = route.endpoint;
  const params = c.params ? realise(c.params) : undefined;
  const query = c.query ? realise(c.query) : undefined;
  // A valid query's `?key=` is the route's own key: a different one beside the header is an ambiguous credential.
  if (
    c.query?.change === null &&
    (c.credential === 'right' || c.credential === 'admin') &&
    query &&
    typeof query === 'object' &&
    'key' in query
  )
    (query as Record<string, unknown>).key =
      route.scope === 'none'
        ? undefined
        : KEYS[c.credential === 'admin' ? 'admin' : (route.scope as keyof typeof KEYS)];
  const body = c.body ? realise(c.body) : undefined;

  let path = route.url === '*' ? '/v1/events' : route.url.replace('/*', '/' + (c.rawPath ?? 'index.html'));
  const names = [...route.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
  const p =
    params !== null && typeof params === 'object' && !Array.isArray(params) ? (params as Record<string, unknown>) : {};
  const sentParams: Record<string, string> = {};
  names.forEach((name, i) => {
    const raw = c.rawPath !== null && i === names.length - 1;
    sentParams[name] = raw ? c.rawPath! : asText(p[name]);
    const value = raw ? c.rawPath! : encodeAny(sentParams[name]);
    path = path.replace(`:${name}`, value === '' ? '' : value);
  });
  if (names.length === 0 && c.rawPath !== null && route.url !== '/admin/*' && route.url !== '*')
    path += `/${c.rawPath}`;

  const qs: string[] = [];
  // The query as the server reads it: text values (a repeated key as a list).
  let sentQuery: unknown = query;
  if (query !== null && typeof query === 'object' && !Array.isArray(query)) {
    const texts: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(query as Record<string, unknown>)) {
      if (v === undefined) continue;
      texts[k] = Array.isArray(v) ? v.map(asText) : asText(v);
      for (const item of Array.isArray(v) ? v : [v]) qs.push(`${encodeAny(k)}=${encodeAny(asText(item))}`);
    }
    sentQuery = texts;
  } else if (query !== undefined && query !== null) qs.push(encodeAny(asText(query)));
  if (c.rawQuery) qs.push(c.rawQuery);

  const headers: Record<string, string> = {};
  const scope = route.scope;
  // A CORS preflight is answered before any key is checked (browsers send none).
  let authorised = scope === 'none' || route.method === 'OPTIONS';
  if (scope !== 'none' && !authorised) {
    const right = KEYS[scope];
    if (c.credential === 'right' || c.credential === 'admin') {
      headers.authorization = `Bearer ${c.credential === 'admin' ? KEYS.admin : right}`;
      authorised = true;
    } else if (c.credential === 'garbage') headers.authorization = 'Bearer not-a-key-\u00e9';
    else if (c.credential === 'lower' && LOWER[scope]) headers.authorization = `Bearer ${LOWER[scope]}`;
    else if (c.credential === 'query') {
      qs.push(`key=${encodeURIComponent(right)}`);
      authorised = scope === 'ingest' && !(query && typeof query === 'object' && 'key' in query);
    }
  }
  if (c.origin !== null) headers.origin = encodeURI(c.origin).slice(0, 4000);
  const method = route.method;
  if (method === 'OPTIONS') {
    headers['access-control-request-method'] = 'POST';
    headers['access-control-request-headers'] = 'authorization, content-type';
  }

  let payload: string | Buffer | undefined;
  switch (c.encoding) {
    case 'none':
      break;
    case 'junk':
      headers['content-type'] = 'application/json';
      payload = '{"truncated": [1, 2';
      break;
    case 'invalid-utf8':
      headers['content-type'] = e?.accepts === 'ndjson' ? 'application/x-ndjson' : 'application/json';
      payload = Buffer.concat([
        Buffer.from('{"label":"'),
        Buffer.from([0xc3, 0x28, 0xed, 0xa0, 0x80]),
        Buffer.from('"}'),
      ]);
      break;
    case 'wrong-type':
      headers['content-type'] = 'application/xml';
      payload = '<a/>';
      break;
    case 'json':
      headers['content-type'] = 'application/json';
      payload = body === undefined ? '' : jsonText(body);
      break;
    case 'text':
      headers['content-type'] = 'text/plain;charset=UTF-8';
      payload = jsonText(body);
      break;
    case 'gzip':
      headers['content-type'] = 'application/json';
      headers['content-encoding'] = 'gzip';
      payload = gzipSync(jsonText(body));
      break;
    case 'ndjson':
      headers['content-type'] = 'application/x-ndjson';
      payload = Array.isArray(body) ? body.map((x) => jsonText(x)).join('\n') + '\n' : jsonText(body);
      break;
    case 'json-examples':
      headers['content-type'] = 'application/json';
      payload = jsonText({ examples: body });
      break;
    case 'multipart':
    case 'multipart-no-files':
    case 'multipart-bad-meta': {
      const version =
        body && typeof body === 'object' && typeof (body as { version?: unknown }).version === 'string'
          ? (body as { version: string }).version
          : 'fuzz';
      const metaPart = c.encoding === 'multipart-bad-meta' ? '{"parent": nul' : jsonText(body);
      const files = c.encoding === 'multipart-no-files' ? [] : defaultFiles(version.replace(/[^A-Za-z0-9._-]/g, '_'));
      const m = await multipart(metaPart, files);
      Object.assign(headers, m.headers);
      payload = m.payload;
      break;
    }
  }
  return {
    method,
    url: path + (qs.length ? `?${qs.join('&')}` : ''),
    headers,
    ...(payload === undefined ? {} : { payload }),
    sent: {
      params: names.length ? sentParams : params,
      query: sentQuery,
      body: CARRY_BODY.has(c.encoding) ? body : undefined,
    },
    authorised,
  };
}
