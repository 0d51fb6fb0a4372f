/**
 * Whether an `If-None-Match` header names this ETag: the tag itself, its weak form `W/"…"`, any member of a list,
 * or `*` (RFC 9110's weak comparison). The one matcher of every route with an ETag: manifests, artifacts, and the
 * batch and golden-set exports.
 */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header === etag) return true;
  for (const raw of header.split(',')) {
    const t = raw.trim();
    if (t === '*' || t === etag || (t.startsWith('W/') && t.slice(2) === etag)) return true;
  }
  return false;
}
