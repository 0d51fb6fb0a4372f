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

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const isWellFormed = (s: string) => !LONE_SURROGATE.test(s);

/** Whether every string and key in `value` is well-formed UTF-16 (no lone surrogates, which storage would mangle). */
function wellFormed(value: unknown): boolean {
  if (typeof value === 'string') return isWellFormed(value);
  if (Array.isArray(value)) return value.every(wellFormed);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).every(([k, v]) => isWellFormed(k) && wellFormed(v));
  }
  return true;
}

/** Splits `items` into valid events and rejections; `checkSurrogates` walks strings only when the body had escapes. */
export function triageEvents(items: readonly unknown[], checkSurrogates: boolean): Triage {
  const events: Event[] = [];
  const rejected: Rejection[] = [];
  items.forEach((item, index) => {
    const result = checkEvent(item);
    if (!result.ok) {
      rejected.push({ index, code: 'EL_INVALID_EVENT', message: `Invalid event: ${result.message}` });
    } else if (checkSurrogates && !wellFormed(item)) {
      rejected.push({ index, code: 'EL_INVALID_EVENT', message: 'Invalid event: a string holds a lone UTF-16 surrogate' });
    } else {
      events.push(result.event);
    }
  });
  return { events, rejected };
}
