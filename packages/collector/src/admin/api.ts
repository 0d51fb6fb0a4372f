/**
 * Calls to the collector's JSON API with the admin key the person typed in. The key lives in sessionStorage
 * only: it is gone when the tab closes, and it is never put in a URL.
 */
const KEY = 'edgeloop.adminKey';

export const session = {
  get key(): string | null {
    return sessionStorage.getItem(KEY);
  },
  set(key: string): void {
    sessionStorage.setItem(KEY, key);
  },
  clear(): void {
    sessionStorage.removeItem(KEY);
  },
};

/** An error answer of the API: its status and stable code, and a message meant for people. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Sends one request with `Authorization: Bearer <admin key>`; resolves to the parsed JSON (or null). */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const key = session.key;
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? null : JSON.stringify(body), credentials: 'omit', cache: 'no-store' });
  const text = await res.text();
  const data = text ? (JSON.parse(text) as unknown) : null;
  if (!res.ok) {
    const e = (data ?? {}) as { code?: string; message?: string };
    throw new ApiError(res.status, e.code ?? `HTTP_${res.status}`, e.message ?? res.statusText);
  }
  return data as T;
}

/** `/v1/models/<model>/...` with the model name encoded. */
export const modelPath = (model: string, rest = '') => `/v1/models/${encodeURIComponent(model)}${rest}`;
