/**
 * What a rollout may become. The one rule devices rely on: a device that saw the canary is never sent back to
 * stable while that canary lives, so a live canary's percent only goes up; rolling back ends the canary instead.
 * Naming a different canary version ends the old canary and starts a new one at whatever percent is given.
 */
import type { Rollout } from '@edgeloop/protocol';
import { EL_INVALID_ROLLOUT } from '../errors.js';

export const EMPTY_ROLLOUT: Rollout = { stable: null, canary: null, canaryPercent: 0, auto: null };

/** Throws `EL_INVALID_ROLLOUT` unless `after` is a valid rollout reachable from `before`. */
export function checkTransition(before: Rollout, after: Rollout): void {
  if (after.canary === null && after.canaryPercent !== 0) {
    throw new EL_INVALID_ROLLOUT('canaryPercent must be 0 when there is no canary');
  }
  if (after.canary !== null && after.stable === null) {
    throw new EL_INVALID_ROLLOUT('a canary needs a stable version to compare with and to serve everyone else');
  }
  if (after.canary !== null && after.canary === after.stable) {
    throw new EL_INVALID_ROLLOUT('canary and stable are the same version');
  }
  if (before.canary !== null && after.canary === before.canary && after.canaryPercent < before.canaryPercent) {
    throw new EL_INVALID_ROLLOUT(
      `lowering canaryPercent of live canary "${before.canary}" from ${before.canaryPercent} to ${after.canaryPercent} would send ` +
        'devices that already run it back to stable: roll back to end the canary instead',
    );
  }
}

/** Whether the versions devices get (stable, canary or percent) differ: the analysis window restarts then. */
export function assignmentChanged(before: Rollout, after: Rollout): boolean {
  return (
    before.stable !== after.stable || before.canary !== after.canary || before.canaryPercent !== after.canaryPercent
  );
}

/** The rollout after promoting the live canary to stable. */
export function promoted(r: Rollout): Rollout {
  return { stable: r.canary, canary: null, canaryPercent: 0, auto: r.auto };
}

/** The rollout after ending the live canary: everyone back on stable. */
export function rolledBack(r: Rollout): Rollout {
  return { stable: r.stable, canary: null, canaryPercent: 0, auto: r.auto };
}

/** Only the contract's four fields, e.g. of a stored `RolloutState`. */
export function plainRollout(r: Rollout): Rollout {
  return { stable: r.stable, canary: r.canary, canaryPercent: r.canaryPercent, auto: r.auto };
}
