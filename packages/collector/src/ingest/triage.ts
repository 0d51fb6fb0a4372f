/**
 * Each event of a request is checked on its own, so one poison event is rejected alone and the good ones
 * around it are stored. Rejections carry the event's index and a stable code.
 */
import { checkEvent, type Event, type Rejection } from '@edgeloop/protocol';

export interface Triage {
  /** The valid events, in request order. */
  events: Event[];
  rejected: Rejection[];
}

// A lone surrogate cannot be stored as UTF-8 (it would be silently replaced) and PostgreSQL text cannot hold
// U+0000 at all: an event carrying either is refused rather than stored differently from how it was sent.
const UNSTORABLE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\u0000/;
const storable = (s: string) => !UNSTORABLE.test(s);

/** Whether every string and key in `value` can be stored exactly as received. */
function storableStrings(value: unknown): boolean {
  if (typeof value === 'string') return storable(value);
  if (Array.isArray(value)) return value.every(storableStrings);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).every(([k, v]) => storable(k) && storableStrings(v));
  }
  return true;
}

/** Splits `items` into valid events and rejections; `checkStrings` walks strings only when the body had suspect escapes. */
export function triageEvents(items: readonly unknown[], checkStrings: boolean): Triage {
  const events: Event[] = [];
  const rejected: Rejection[] = [];
  items.forEach((item, index) => {
    const result = checkEvent(item);
    if (!result.ok) {
      rejected.push({ index, code: 'EL_INVALID_EVENT', message: `Invalid event: ${result.message}` });
    } else if (checkStrings && !storableStrings(item)) {
      rejected.push({ index, code: 'EL_INVALID_EVENT', message: 'Invalid event: a string holds a lone UTF-16 surrogate or U+0000' });
    } else {
      events.push(result.event);
    }
  });
  return { events, rejected };
}
