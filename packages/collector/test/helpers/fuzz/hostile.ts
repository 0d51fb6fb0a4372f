/**
 * Hostile values for the fuzz: a valid value (arbitraries.ts) with one place changed (a wrong type, U+0000 or a
 * lone surrogate inside a string, a number past every edge, an extra or missing field, a prototype key, an
 * overlong string or array), or with one field just past its schema's bound.
 */
import fc from 'fast-check';
import { Known, valid, type Schema } from './arbitraries.js';

/** One hostile value for a leaf, in JSON or in a URL. */
export const HOSTILE_LEAVES: readonly unknown[] = [
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER + 2,
  '\u0001RAW:9007199254740993',
  -1,
  -0.5,
  0.5,
  0,
  2 ** 31,
  2 ** 63,
  '1e308',
  '-1',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x10',
  ' 1',
  '',
  'a\u0000b',
  '\u0000',
  '\ud800',
  'x\udc00',
  '\udfff\ud800',
  'a'.repeat(70_000),
  '\u{1F600}'.repeat(65),
  "' OR 1=1 --",
  '../../etc/passwd',
  '%00',
  '%ZZ',
  '\u0001RAW:1e999',
  '\u0001RAW:-1e999',
  '\u0001RAW:123456789012345678901234567890',
  '\u0001RAW:1e-400',
  true,
  null,
  [],
  {},
  [1, 'a'],
  { a: 1 },
];

type Path = (string | number)[];

/** Every place in `value` (the root too), for picking one to change. */
function placesOf(value: unknown, path: Path = [], out: Path[] = []): Path[] {
  out.push(path);
  if (Array.isArray(value)) value.forEach((v, i) => placesOf(v, [...path, i], out));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) placesOf(v, [...path, k], out);
  return out;
}

/** Names of an extra field: an unknown one, and keys the stores cannot hold (a record's keys are stored). */
const EXTRA_KEYS = ['zzExtra', 'k\u0000', '\ud800', 'k\udc00', 'constructor', '7'];

export type Mutation = 'replace' | 'taint' | 'edge' | 'beyond' | 'extra' | 'drop' | 'proto' | 'grow';

/** Numbers at and past every edge, put in place of a number by an 'edge' change (RAW: written into the JSON as is). */
export const NUMBER_EDGES: readonly unknown[] = [
  '\u0001RAW:1e999',
  '\u0001RAW:-1e999',
  '\u0001RAW:-0',
  '\u0001RAW:1e-400',
  '\u0001RAW:123456789012345678901234567890',
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER + 2,
  2 ** 63,
  -1,
  0,
  0.5,
  5e-324,
];

/** What the stores cannot keep as sent, put inside an otherwise valid string by a 'taint' change. */
export const TAINTS = ['\u0000', '\ud800', '\udc00', '\udfff\ud800', '\udbff'];

/** `value` with the place at `pick` changed by `how`; `leaf` is what goes in. */
export function mutate(value: unknown, pick: number, how: Mutation, leaf: unknown): unknown {
  const copy = structuredClone(value) as unknown;
  const all = placesOf(copy);
  const strings = all.filter(
    (p) => typeof p.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], copy) === 'string',
  );
  const numbers = all.filter(
    (p) => typeof p.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], copy) === 'number',
  );
  const places = how === 'taint' && strings.length > 0 ? strings : how === 'edge' && numbers.length > 0 ? numbers : all;
  const path = places[pick % places.length]!;
  const parentPath = path.slice(0, -1);
  const key = path[path.length - 1];
  let target: unknown = copy;
  for (const k of parentPath) target = (target as Record<string | number, unknown>)[k];
  const holder = target as Record<string | number, unknown> | undefined;
  const at = key === undefined ? copy : holder![key];
  switch (how) {
    case 'replace':
      if (key === undefined) return leaf;
      holder![key] = leaf;
      return copy;
    case 'taint': {
      // Which taint and where come from other digits of `pick` than which place does.
      const taint = TAINTS[Math.floor(pick / 1009) % TAINTS.length]!;
      const text = typeof at === 'string' ? at : '';
      const cut = Math.floor(pick / 7919) % (text.length + 1);
      const tainted = text.slice(0, cut) + taint + text.slice(cut);
      if (key === undefined) return tainted;
      holder![key] = tainted;
      return copy;
    }
    case 'edge': {
      const edge = NUMBER_EDGES[Math.floor(pick / 1009) % NUMBER_EDGES.length];
      if (key === undefined) return edge;
      holder![key] = edge;
      return copy;
    }
    case 'drop':
      if (key === undefined) return undefined;
      if (Array.isArray(holder)) holder.splice(Number(key), 1);
      else delete holder![key];
      return copy;
    case 'extra':
      if (at !== null && typeof at === 'object' && !Array.isArray(at))
        (at as Record<string, unknown>)[EXTRA_KEYS[Math.floor(pick / 1009) % EXTRA_KEYS.length]!] = leaf;
      else if (Array.isArray(at)) at.push(leaf);
      else return key === undefined ? leaf : (((holder as Record<string, unknown>)[key] = leaf), copy);
      return copy;
    case 'proto':
      // Written into the JSON text by the request builder: a real "__proto__" key, not a prototype change.
      if (at !== null && typeof at === 'object' && !Array.isArray(at))
        Object.defineProperty(at, '__proto__', { value: { polluted: true }, enumerable: true, writable: true });
      return copy;
    case 'beyond':
      // Made from the schema by `beyond()`, not from a value.
      return copy;
    case 'grow':
      if (Array.isArray(at) && at.length > 0) {
        const filler = at[0];
        for (let i = 0; i < 1001; i++) at.push(filler);
      } else if (typeof at === 'string') {
        const grown = at.repeat(Math.ceil(70_000 / Math.max(1, at.length)));
        if (key === undefined) return grown;
        holder![key] = grown;
      }
      return copy;
  }
}

/**
 * Whether `value` holds what no store may keep (the collector's rule, written again here so the test does not
 * trust the code it checks): U+0000 or a lone UTF-16 surrogate in a string or key, or a number JSON cannot write.
 */
export function unstorable(value: unknown): boolean {
  // eslint-disable-next-line no-control-regex -- U+0000 is what the stores refuse
  const bad = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
  if (typeof value === 'string') return bad.test(value);
  if (typeof value === 'number') return !Number.isFinite(value);
  if (Array.isArray(value)) return value.some(unstorable);
  if (value !== null && typeof value === 'object')
    return Object.entries(value).some(([k, v]) => bad.test(k) || unstorable(v));
  return false;
}

/** A drawn value and, for a hostile draw, the one change to make once its known values are resolved. */
export interface Draw {
  value: unknown;
  change: { pick: number; how: Mutation; leaf: unknown } | null;
  /** The value with one field just past the schema's bound, for a 'beyond' change (undefined: the schema has none). */
  beyond?: unknown;
}

const RAW_PAST = ['\u0001RAW:1e999', '\u0001RAW:-1e999'];

/** Numbers just past the bounds of a number schema, and the extremes on a side it leaves unbounded. */
function pastNumber(s: Schema): unknown[] {
  const out: unknown[] = [];
  const step = s.type === 'integer' ? 1 : Math.max(1e-9, Math.abs(s.maximum ?? s.minimum ?? 1) * 1e-9);
  if (s.maximum !== undefined) out.push(s.maximum + step, s.maximum * 10 + 1);
  if (s.exclusiveMaximum !== undefined) out.push(s.exclusiveMaximum);
  if (s.minimum !== undefined) out.push(s.minimum - step);
  if (s.exclusiveMinimum !== undefined) out.push(s.exclusiveMinimum);
  if (s.type === 'integer') out.push(0.5 + (s.minimum ?? 0));
  // Past any bound a store has: a 64-bit integer, a double, what JSON reads as Infinity.
  out.push(2 ** 63, 1e308, -1e308, RAW_PAST[0], RAW_PAST[1]);
  return out;
}

/**
 * Values of `schema` with exactly one field just past its bound (a number past its minimum or maximum, a string
 * one code point too long, an array one item too many), the rest valid; null when the schema bounds nothing.
 */
export function beyond(schema: Schema, depth = 0): fc.Arbitrary<unknown> | null {
  if (schema.const !== undefined || schema.anyOf) return null;
  switch (schema.type) {
    case 'integer':
    case 'number': {
      const past = pastNumber(schema);
      return past.length ? fc.constantFrom(...past) : null;
    }
    case 'string':
      if (schema.maxLength === undefined || schema.maxLength > 100_000) return null;
      return fc.constantFrom('a'.repeat(schema.maxLength + 1), '\u{1F600}'.repeat(schema.maxLength + 1));
    case 'array': {
      const item = valid(schema.items ?? {}, '', depth + 1);
      if (schema.maxItems !== undefined && schema.maxItems <= 1000)
        return fc.array(item, { minLength: schema.maxItems + 1, maxLength: schema.maxItems + 1 });
      return null;
    }
    case 'object': {
      const props = Object.entries(schema.properties ?? {});
      const options = props
        .map(([k, s]) => [k, beyond(s, depth + 1)] as const)
        .filter((o): o is readonly [string, fc.Arbitrary<unknown>] => o[1] !== null);
      if (options.length === 0) return null;
      return fc
        .tuple(valid(schema), fc.constantFrom(...options.map((o) => o[0])))
        .chain(([v, k]) => options.find((o) => o[0] === k)![1].map((past) => ({ ...(v as object), [k]: past })));
    }
    default:
      return null;
  }
}

/** A valid value of `schema` with one change drawn for it (made only when the request is hostile in this part). */
export function draw(schema: Schema): fc.Arbitrary<Draw> {
  const past = beyond(schema);
  return fc
    .record({
      value: valid(schema),
      beyond: past ?? fc.constant(undefined),
      pick: fc.nat(),
      how: fc.constantFrom<Mutation>(
        'beyond',
        'beyond',
        'beyond',
        'beyond',
        'taint',
        'taint',
        'taint',
        'taint',
        'taint',
        'edge',
        'edge',
        'edge',
        'replace',
        'replace',
        'replace',
        'extra',
        'drop',
        'proto',
        'grow',
      ),
      leaf: fc.constantFrom(...HOSTILE_LEAVES),
    })
    .map(({ value, beyond: past, pick, how, leaf }) => ({
      value,
      beyond: past,
      change: { pick, how: how === 'beyond' && past === undefined ? 'edge' : how, leaf },
    }));
}

/** `draw.value` with its known values resolved by `resolve`, then its change made. */
export function realise(d: Draw, resolve: (k: Known) => unknown): unknown {
  if (d.change?.how === 'beyond') return resolveKnown(d.beyond, resolve);
  const resolved = resolveKnown(d.value, resolve);
  return d.change ? mutate(resolved, d.change.pick, d.change.how, d.change.leaf) : resolved;
}

function resolveKnown(value: unknown, resolve: (k: Known) => unknown): unknown {
  if (value instanceof Known) return resolve(value);
  if (Array.isArray(value)) return value.map((v) => resolveKnown(v, resolve));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveKnown(v, resolve)]));
  return value;
}
