/**
 * Calls to the collector's JSON API through the protocol's typed `call`, with the admin key the person typed
 * in. The key lives in sessionStorage only: it is gone when the tab closes, and it is never put in a URL.
 */
import { call, type Answer, type CallArgs, type Endpoint } from '@edgeloop/protocol';

export { ApiError } from '@edgeloop/protocol';

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

/** Calls one endpoint with `Authorization: Bearer <admin key>`; rejects with an `ApiError` on a non-2xx answer. */
export function api<const E extends Endpoint>(spec: E, args: Omit<CallArgs<E>, 'key' | 'init'>): Promise<Answer<E>> {
  return call(spec, { ...args, key: session.key, init: { credentials: 'omit', cache: 'no-store' } } as CallArgs<E>);
}
