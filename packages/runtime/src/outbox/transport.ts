/** One request to `POST /v1/events`, and what the outbox must do with its answer. */

export interface Destination {
  /** Collector base URL without a trailing slash. */
  url: string;
  key: string;
}

export type SendOutcome =
  /** Committed (some events may have been rejected alone: they are dropped and counted). */
  | { kind: 'ok'; rejected: number }
  /** Non-retryable answer for the whole request. */
  | { kind: 'drop'; status: number }
  /** Retry later: network error, timeout, 5xx, 429 or an unexpected status. */
  | { kind: 'retry'; status: number | null; retryAfterMs: number | null; error: string };

const DROP = new Set([400, 401, 403, 413, 422]);

/** Milliseconds to wait from a `Retry-After` value (delta seconds or an HTTP date), or `null` if absent or invalid. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Delay before retry `failures` (1-based): `base · 2^(n-1)` capped at `max`, with ±50 % jitter. */
export function backoffMs(failures: number, baseMs: number, maxMs: number, random = Math.random): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(raw * (0.5 + random()));
}

/** The body for a batch of stored event JSON strings (no re-serialisation). */
export function batchBody(jsons: readonly string[]): string {
  return `{"events":[${jsons.join(',')}]}`;
}

/** Posts one batch and classifies the answer. Never throws. */
export async function postEvents(
  dest: Destination,
  body: string,
  timeoutMs: number,
  defaultRetryAfterMs: number,
): Promise<SendOutcome> {
  let res: Response;
  try {
    res = await fetch(`${dest.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${dest.key}` },
      body,
      credentials: 'omit',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const name = (err as DOMException)?.name;
    return {
      kind: 'retry',
      status: null,
      retryAfterMs: null,
      error: name === 'TimeoutError' ? `timeout after ${timeoutMs} ms` : `network error: ${(err as Error).message}`,
    };
  }
  const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
  if (res.ok) {
    try {
      const answer = (await res.json()) as { rejected?: unknown[] };
      return { kind: 'ok', rejected: Array.isArray(answer.rejected) ? answer.rejected.length : 0 };
    } catch {
      // The server committed (2xx) even if the body was cut short; nothing to resend.
      return { kind: 'ok', rejected: 0 };
    }
  }
  await res.body?.cancel().catch(() => undefined);
  if (DROP.has(res.status)) return { kind: 'drop', status: res.status };
  return {
    kind: 'retry',
    status: res.status,
    retryAfterMs: retryAfter ?? (res.status === 429 ? defaultRetryAfterMs : null),
    error: `HTTP ${res.status}`,
  };
}

/**
 * Sends events at page unload: `fetch(keepalive)` as `text/plain` with the key in the query, so no preflight is
 * needed, in chunks whose total stays under `budgetBytes` (browsers cap keepalive bodies in flight at 64 KiB).
 * Returns the ids sent. Nothing is deleted afterwards: the server dedupes by id.
 */
export function sendOnUnload(
  dest: Destination,
  items: readonly { id: string; json: string; bytes: number }[],
  budgetBytes: number,
  chunkBytes = 16_000,
): string[] {
  const url = `${dest.url}/v1/events?key=${encodeURIComponent(dest.key)}`;
  const sent: string[] = [];
  let budget = budgetBytes;
  let chunk: (typeof items)[number][] = [];
  let size = 14;
  const post = () => {
    if (chunk.length === 0) return;
    try {
      void fetch(url, {
        method: 'POST',
        keepalive: true,
        credentials: 'omit',
        headers: { 'content-type': 'text/plain' },
        body: batchBody(chunk.map((c) => c.json)),
      }).catch(() => undefined);
      for (const c of chunk) sent.push(c.id);
    } catch {
      // Over the browser's keepalive quota: what was not sent stays stored for the next start.
    }
    budget -= size;
    chunk = [];
    size = 14;
  };
  for (const item of items) {
    if (item.bytes + 16 > budget) break;
    if (size + item.bytes + 1 > Math.min(chunkBytes, budget)) post();
    if (size + item.bytes + 1 > budget) break;
    chunk.push(item);
    size += item.bytes + 1;
  }
  post();
  return sent;
}
