import { Compile } from 'typebox/compile';
import { Event as EventSchema, type Event } from './schemas.js';

const eventValidator = Compile(EventSchema);

/** Validates one event against the wire schema; returns the first problem as a message, or `null`. */
export function checkEvent(value: unknown): { ok: true; event: Event } | { ok: false; message: string } {
  if (eventValidator.Check(value)) return { ok: true, event: value as Event };
  const first = eventValidator.Errors(value)[0];
  const where = first?.instancePath || '/';
  return { ok: false, message: `${where} ${first?.message ?? 'is not a valid event'}`.trim() };
}
