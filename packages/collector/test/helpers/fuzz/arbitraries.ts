/**
 * fast-check arbitraries from the JSON Schemas of the protocol's endpoint specs: values the schema accepts, with
 * its boundaries (lengths counted in code points, as Ajv counts them, and numbers at their bounds). hostile.ts
 * makes hostile values from them.
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
