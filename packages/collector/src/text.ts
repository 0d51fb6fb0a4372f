/**
 * Values the stores cannot keep exactly as sent: a lone UTF-16 surrogate becomes U+FFFD in UTF-8, PostgreSQL
 * text cannot hold U+0000 at all, and a JSON number past ±1.8e308 (`1e999`) parses as Infinity, which the
 * stores write back as `null` (and Ajv's `number` and `integer` let it through when a schema has no bound on that
 * side). Input carrying any of them is refused (400) rather than stored changed or failing in the database (500),
 * on every route and both stores alike.
 */
/** Whether `s` can be stored exactly as it is (no lone surrogate, no U+0000). */
export const storable = (s: string): boolean => s.isWellFormed() && !s.includes('\0');

/** The JSON-pointer path of the first string, key or number in `value` that cannot be stored as sent, or null when all can. */
export function unstorablePath(value: unknown): string | null {
  const at = firstUnstorable(value);
  return at === null ? null : `/${at.reverse().join('/')}`;
}

/** The path segments (innermost first) of the first value that cannot be stored; built only when one is found. */
function firstUnstorable(value: unknown): string[] | null {
  if (typeof value === 'string') return storable(value) ? null : [];
  if (typeof value === 'number') return Number.isFinite(value) ? null : [];
  if (value === null || typeof value !== 'object') return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = firstUnstorable(value[i]);
      if (found) return (found.push(String(i)), found);
    }
    return null;
  }
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    // eslint-disable-next-line no-control-regex -- NUL is what the stores refuse
    if (!storable(k)) return [k.replace(/[\uD800-\uDFFF\u0000]/g, '?')];
    const found = firstUnstorable((value as Record<string, unknown>)[k]);
    if (found) return (found.push(k), found);
  }
  return null;
}

/** The message for an unstorable string at `where`. */
export const unstorableMessage = (where: string) =>
  `${where} holds a lone UTF-16 surrogate or U+0000, or is a number past ±1.8e308, which cannot be stored as sent`;

/**
 * Whether the query string of `url` holds a percent-escape that is not UTF-8 (`%ED%A0%80`, a lone surrogate as
 * a careless client writes it; `%FF`; `%ZZ`). The query parser keeps such a value as raw text instead of
 * refusing it as the router does a path, so a value the client did not mean would reach the route.
 */
export function malformedQuery(url: string): boolean {
  const q = url.indexOf('?');
  if (q < 0 || url.indexOf('%', q) < 0) return false;
  try {
    decodeURIComponent(url.slice(q + 1));
    return false;
  } catch {
    return true;
  }
}
