import { uuidv7 } from 'uuidv7';

/** A new UUIDv7 string: time-ordered, made on the device at capture time and never regenerated. */
export function newId(): string {
  return uuidv7();
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Whether `id` is a canonical lower-case RFC 9562 UUID (any version). */
export function isUuid(id: string): boolean {
  return UUID_RE.test(id);
}

/** Milliseconds since epoch encoded in a UUIDv7, or `undefined` for another version. */
export function uuidv7Time(id: string): number | undefined {
  if (!isUuid(id) || id[14] !== '7') return undefined;
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

export const MODEL_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const SHA256_RE = /^[0-9a-f]{64}$/;
