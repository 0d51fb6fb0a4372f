/**
 * The one way a rollout changes, for people and the controller alike: read, check the transition, write it with
 * its audit entry at the revision that was read, then let the manifest cache know.
 */
import type { Rollout } from '@edgeloop/protocol';
import type { Storage } from '../storage/index.js';
import type { AuditAction, RolloutState } from './types.js';
import { EMPTY_ROLLOUT, assignmentChanged, checkTransition, plainRollout } from './rules.js';
import { EL_INVALID_ROLLOUT, EL_ROLLOUT_CONFLICT } from '../errors.js';

export interface RolloutChangeRequest {
  actor: string;
  action: AuditAction;
  reason: string;
  details?: Record<string, unknown> | null;
  at?: number;
  /** Restart the analysis window even though stable, canary and percent stay (a resumed policy). */
  restart?: boolean;
  /** The new rollout from the current one, or `null` to record a decision that changes nothing; may throw. */
  mutate(current: Rollout, state: RolloutState | undefined): Rollout | null;
}

// A concurrent writer makes `apply` refuse; re-reading and re-deciding a few times settles ordinary races.
const ATTEMPTS = 3;

/** Applies a rollout change with its audit entry; `onChange` runs after commit (manifest cache invalidation). */
export async function changeRollout(
  storage: Storage,
  model: string,
  request: RolloutChangeRequest,
  onChange: (model: string) => void,
): Promise<RolloutState> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const at = request.at ?? Date.now();
    const state = await storage.rollout.get(model);
    const before = state ? plainRollout(state) : EMPTY_ROLLOUT;
    const next = request.mutate(before, state);
    if (next) {
      checkTransition(before, next);
      for (const v of new Set([next.stable, next.canary])) {
        if (v !== null && v !== before.stable && v !== before.canary && !(await storage.registry.get(model, v))) {
          throw new EL_INVALID_ROLLOUT(`version "${v}" of model "${model}" is not registered`);
        }
      }
    }
    const restart = !state || (next !== null && (assignmentChanged(before, next) || request.restart === true));
    const written = await storage.rollout.apply(model, {
      expectedRevision: state?.revision ?? 0,
      next,
      phaseStartedAt: restart ? at : state.phaseStartedAt,
      entry: {
        at,
        actor: request.actor,
        action: request.action,
        reason: request.reason,
        details: request.details ?? null,
      },
    });
    if (written) {
      if (next) onChange(model);
      return written;
    }
  }
  throw new EL_ROLLOUT_CONFLICT(model);
}
