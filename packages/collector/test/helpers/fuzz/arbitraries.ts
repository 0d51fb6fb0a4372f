/**
 * fast-check arbitraries from the JSON Schemas of the protocol's endpoint specs: values the schema accepts (with
 * its boundaries: lengths counted in code points, as Ajv counts them, and numbers at their bounds), and hostile
 * values made from a valid one by changing one place (a wrong type, a number past every bound, U+0000, a lone
 * surrogate, an overlong string, an extra or missing field, a prototype key).
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';

/** The subset of JSON Schema the TypeBox specs produce. */
export interface Schema {
  type?: string;
  const?: unknown;
  anyOf?: Schema[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  patternProperties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  maxProperties?: number;
}

/**
 * A value taken, when the request is built, from what the store holds (a model, a prediction id, a batch id…),
 * so that fuzzed requests also reach the code behind a lookup that succeeds.
 */
export class Known {
  constructor(
    readonly name: string,
    readonly pick: number,
  ) {}
}

/** Names of fields whose value is worth taking from the store's known values. */
export const KNOWN_NAMES = new Set([
  'model',
  'version',
  'stable',
  'canary',
  'parent',
  'id',
  'predictionId',
  'sha256',
  'replaces',
  'device',
  'deviceId',
  'label',
  'inputHash',
]);

/** Text that stores have got wrong elsewhere: quotes, SQL, HTML, pairs, marks, separators, long runs. */
const SPICY = [
  "'; DROP TABLE events; --",
  '<script>alert(1)</script>',
  '\u{1F600}',
  '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}',
  'e\u0301',
  '\u2028\u2029',
  '\uFEFF',
  '\u202E',
  '\\',
  '"',
  '%00',
  '\r\n',
  '\t',
  '\u0001\u001f\u007f',
  '\uFFFD',
  '\uFFFF',
  'ß',
];

/** Free text: mostly printable, sometimes any code point or a spicy fragment; always well-formed UTF-16 without U+0000. */
const textUnit = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom(...SPICY) },
);

/** Number of code points, as Ajv's minLength/maxLength count them. */
export const codePoints = (s: string) => [...s].length;

function clip(s: string, max: number): string {
  const cps = [...s];
  return cps.length > max ? cps.slice(0, max).join('') : s;
}

function textArb(min: number, max: number): fc.Arbitrary<string> {
  const soft = Math.min(max, 40);
  const plain = fc
    .array(textUnit, { minLength: min, maxLength: Math.max(min, soft) })
    .map((parts) => clip(parts.join(''), max))
    .filter((s) => codePoints(s) >= min && codePoints(s) <= max);
  if (max > 100_000) return plain;
  // The boundary: exactly max code points, some of them outside the BMP (two UTF-16 units each).
  const atMax = fc
    .constantFrom('x', '\u{1F600}', 'é', '\u00ff')
    .chain((c) => fc.constantFrom(c.repeat(max), 'a'.repeat(Math.max(0, max - 1)) + '\u{1F600}'))
    .filter((s) => codePoints(s) >= min);
  return fc.oneof({ weight: 8, arbitrary: plain }, { weight: 1, arbitrary: atMax });
}

const SAFE = Number.MAX_SAFE_INTEGER;

function integerArb(s: Schema): fc.Arbitrary<number> {
  const lo = Math.max(
    s.minimum ?? -SAFE,
    s.exclusiveMinimum !== undefined ? Math.floor(s.exclusiveMinimum) + 1 : -SAFE,
  );
  const hi = Math.min(s.maximum ?? SAFE, s.exclusiveMaximum !== undefined ? Math.ceil(s.exclusiveMaximum) - 1 : SAFE);
  const span = hi - lo;
  const any =
    span <= 0x7fffffff
      ? fc.integer({ min: lo, max: hi })
      : fc.maxSafeNat().map((n) => lo + (n % (span + 1 > SAFE ? SAFE : span + 1)));
  const small = fc.integer({ min: Math.max(lo, -1000), max: Math.min(hi, 1000) }).filter((n) => n >= lo && n <= hi);
  return fc.oneof(
    { weight: 4, arbitrary: any },
    { weight: 4, arbitrary: lo <= 1000 && hi >= -1000 ? small : any },
    { weight: 2, arbitrary: fc.constantFrom(lo, hi) },
  );
}

function numberArb(s: Schema): fc.Arbitrary<number> {
  const min = s.minimum ?? s.exclusiveMinimum ?? -Number.MAX_VALUE;
  const max = s.maximum ?? s.exclusiveMaximum ?? Number.MAX_VALUE;
  const ok = (n: number) =>
    (s.exclusiveMinimum === undefined || n > s.exclusiveMinimum) &&
    (s.exclusiveMaximum === undefined || n < s.exclusiveMaximum);
  const bounds = [
    s.minimum,
    s.maximum,
    min === -Number.MAX_VALUE ? -1e308 : undefined,
    max === Number.MAX_VALUE ? 1e308 : undefined,
  ]
    .filter((n): n is number => n !== undefined)
    .filter(ok);
  const arbs: fc.Arbitrary<number>[] = [
    fc.double({ min, max, noNaN: true, noDefaultInfinity: true }).filter((n) => ok(n) && !Object.is(n, -0)),
  ];
  if (bounds.length > 0) arbs.push(fc.constantFrom(...bounds));
  return fc.oneof(...arbs);
}

/** Values `schema` accepts. `name` is the property the value is for (known values are drawn by it). */
export function valid(schema: Schema, name = '', depth = 0): fc.Arbitrary<unknown> {
  const base = validOnly(schema, depth);
  if (!KNOWN_NAMES.has(name)) return base;
  return fc.oneof({ weight: 1, arbitrary: base }, { weight: 2, arbitrary: fc.nat().map((n) => new Known(name, n)) });
}

/** An input whose bytes hash to its inputHash, so that some uploads and captures are consistent. */
export function exampleInput(seed: number): {
  input: { dtype: 'uint8'; shape: number[]; data: string };
  inputHash: string;
} {
  const bytes = Buffer.alloc(8);
  bytes.writeUInt32LE(seed >>> 0, 0);
  bytes.writeUInt32LE(Math.imul(seed, 2654435761) >>> 0, 4);
  return {
    input: { dtype: 'uint8', shape: [8], data: bytes.toString('base64') },
    inputHash: createHash('sha256').update(bytes).digest('hex'),
  };
}

function validOnly(schema: Schema, depth: number): fc.Arbitrary<unknown> {
  const base = validShape(schema, depth);
  if (schema.properties?.input && schema.properties.inputHash)
    return fc.oneof(
      { weight: 1, arbitrary: base },
      {
        weight: 4,
        arbitrary: fc
          .tuple(base, fc.integer({ min: 0, max: 1_000_000 }))
          .map(([v, seed]) => ({ ...(v as object), ...exampleInput(seed) })),
      },
    );
  return base;
}

function validShape(schema: Schema, depth: number): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((s) => valid(s, '', depth)));
  switch (schema.type) {
    case 'string': {
      const min = schema.minLength ?? 0;
      const max = schema.maxLength ?? 4096;
      if (schema.pattern)
        return fc
          .stringMatching(new RegExp(schema.pattern))
          .filter((s) => codePoints(s) >= min && codePoints(s) <= max);
      return textArb(min, max);
    }
    case 'integer':
      return integerArb(schema);
    case 'number':
      return numberArb(schema);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const items = schema.items ?? {};
      const min = schema.minItems ?? 0;
      const max = Math.min(schema.maxItems ?? 6, Math.max(min, 6));
      return fc.array(valid(items, '', depth + 1), { minLength: min, maxLength: max });
    }
    case 'object': {
      if (schema.patternProperties) {
        const value = Object.values(schema.patternProperties)[0] ?? {};
        return fc.dictionary(textArb(1, 64), valid(value, '', depth + 1), {
          maxKeys: Math.min(4, schema.maxProperties ?? 4),
          noNullPrototype: true,
        });
      }
      const props = schema.properties ?? {};
      const required = new Set(schema.required ?? []);
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, s] of Object.entries(props)) model[k] = valid(s, k, depth + 1);
      return fc.record(model, { requiredKeys: [...required].filter((k) => k in props) });
    }
    default:
      // `{}` (unknown): any JSON.
      return fc.jsonValue({ maxDepth: Math.max(0, 2 - depth) });
  }
}

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
