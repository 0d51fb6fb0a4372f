/**
 * Each event of a request is checked on its own, so one poison event is rejected alone and the good ones
 * around it are stored. Rejections carry the event's index and a stable code.
 */
import { checkEvent, type Event, type Rejection } from '@edgeloop/protocol';
import { unstorablePath } from '../text.js';

export interface Triage {
  /** The valid events, in request order. */
  events: Event[];
  rejected: Rejection[];
}

/** Splits `items` into valid events and rejections; `checkStrings` walks strings only when the body had suspect escapes. */
export function triageEvents(items: readonly unknown[], checkStrings: boolean): Triage {
  const events: Event[] = [];
  const rejected: Rejection[] = [];
  items.forEach((item, index) => {
    const result = checkEvent(item);
    if (!result.ok) {
      rejected.push({ index, code: 'EL_INVALID_EVENT', message: `Invalid event: ${result.message}` });
    } else if (checkStrings && unstorablePath(item) !== null) {
      rejected.push({
        index,
        code: 'EL_INVALID_EVENT',
        message: 'Invalid event: a string holds a lone UTF-16 surrogate or U+0000',
      });
    } else {
      events.push(result.event);
    }
  });
  return { events, rejected };
}
