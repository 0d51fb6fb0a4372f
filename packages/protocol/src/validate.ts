import { Compile } from 'typebox/compile';
import { labelOrLabelsProblem } from './label-set.js';
import { CorrectionEvent, ErrorEvent, PredictionEvent, StatsEvent, type Event } from './schemas.js';

// `Event` is a union, and a union's first error describes its first member whatever the event is: an `error`
// event with one extra field read "must have required properties reason, inputHash, …". Choosing the member by
// `type` first makes every message describe the schema the event claims to follow.
const validators = {
  prediction: Compile(PredictionEvent),
  correction: Compile(CorrectionEvent),
  stats: Compile(StatsEvent),
  error: Compile(ErrorEvent),
};
type EventType = keyof typeof validators;

const ALLOWED = Object.keys(validators)
  .map((t) => JSON.stringify(t))
  .join(', ');

/** Validates one event against the wire schema its `type` names; returns the event, or its first problem as a message. */
export function checkEvent(value: unknown): { ok: true; event: Event } | { ok: false; message: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, message: '/ must be an object (an event)' };
  if (!Object.hasOwn(value, 'type')) return { ok: false, message: `/ must have property "type", one of ${ALLOWED}` };
  const { type } = value as { type: unknown };
  if (typeof type !== 'string' || !Object.hasOwn(validators, type)) {
    return { ok: false, message: `/type must be one of ${ALLOWED}, got ${shown(type)}` };
  }
  const validator = validators[type as EventType];
  if (validator.Check(value)) {
    // A correction carries `label` or `labels`: a rule JSON Schema says only with a union, whose first error would
    // describe the wrong member.
    const problem = type === 'correction' ? labelOrLabelsProblem(value as CorrectionEvent) : null;
    return problem ? { ok: false, message: `/ ${problem}` } : { ok: true, event: value as Event };
  }
  const first = validator.Errors(value)[0];
  const where = first?.instancePath || '/';
  // TypeBox reports an unknown field as "schema is false" (additionalProperties: false); say what that means.
  const unknownField = first?.keyword === 'boolean' && first.schemaPath.endsWith('/additionalProperties');
  const what = unknownField
    ? 'is not allowed (no additional properties)'
    : (first?.message ?? `is not a valid ${type} event`);
  return { ok: false, message: `${where} ${what}` };
}

// What the sender put in `type`, short enough for a message.
function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return value === null
    ? 'null'
    : Array.isArray(value)
      ? 'an array'
      : typeof value === 'object'
        ? 'an object'
        : String(value);
}
