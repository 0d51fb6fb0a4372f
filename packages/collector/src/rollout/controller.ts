/**
 * The automatic canary (Flagger-style). Every `intervalSec` of a model's analysis window, it measures canary and
 * stable over that window, asks `analyseCanary` what to do, and writes the decision (step, promote, roll back
 * or hold) to the rollout and its audit log. A step, promotion or rollback starts a new window, so each percent
 * is judged on traffic seen at that percent. Only one collector per database runs it: with PostgreSQL the one
 * holding the advisory lock, with SQLite (several processes on one file) the one holding the lease row, renewed
 * every tick; the others' ticks do nothing.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { AutoPolicy, Rollout } from '@edgeloop/protocol';
import type { Storage } from '../storage/index.js';
import type { AuditAction, RolloutState } from './types.js';
import type { CanaryVerdict } from './canary-analysis.js';
import type { VersionFigures } from './version-metrics.js';
import { dueAt, judge } from './judge.js';
import { plainRollout, promoted, rolledBack } from './rules.js';

/** What the controller decided for one model on one tick. */
export interface ControllerDecision {
  model: string;
  action: CanaryVerdict['action'];
  reason: string;
  /** The rollout after the decision. */
  rollout: Rollout;
  /** False when another writer changed the rollout first (the decision was dropped). */
  applied: boolean;
}

export class RolloutController {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<ControllerDecision[]> | null = null;

  constructor(
    private readonly storage: Storage,
    private readonly onChange: (model: string) => void,
    private readonly log?: FastifyBaseLogger,
  ) {}

  /** One pass over every rollout with a live canary and an auto policy; `now` lets tests stand at any time. */
  tick(now = Date.now()): Promise<ControllerDecision[]> {
    // Ticks never overlap: a slow pass (slow database) makes the next timer tick wait for it.
    this.running ??= this.pass(now).finally(() => (this.running = null));
    return this.running;
  }

  /** Starts ticking every `tickMs` (errors are logged; the next tick tries again). */
  start(tickMs: number): void {
    this.stop();
    this.timer = setInterval(() => {
      this.tick().catch((err: unknown) => this.log?.warn({ err }, 'rollout controller tick failed'));
    }, tickMs);
    this.timer.unref();
  }

  /** Stops the timer, waits for a running pass and gives leadership up. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
    try {
      await this.storage.rollout.resign();
    } catch {
      // A store that is already closed holds no leadership to give up.
    }
  }

  private async pass(now: number): Promise<ControllerDecision[]> {
    if (!(await this.storage.rollout.lead(now))) return [];
    const decisions: ControllerDecision[] = [];
    for (const r of await this.storage.rollout.automated()) {
      if (r.canary === null || r.stable === null || r.auto === null || r.auto.paused) continue;
      const due = dueAt({ ...r, auto: r.auto });
      if (now < due) continue;
      decisions.push(await this.decide({ ...r, canary: r.canary, stable: r.stable, auto: r.auto }, now));
    }
    return decisions;
  }

  private async decide(
    r: RolloutState & { canary: string; stable: string; auto: AutoPolicy },
    now: number,
  ): Promise<ControllerDecision> {
    const since = r.phaseStartedAt;
    const { stable, canary, verdict } = await judge(this.storage, r, now);
    const before = plainRollout(r);
    const next: Rollout | null =
      verdict.action === 'step'
        ? { ...before, canaryPercent: verdict.percent }
        : verdict.action === 'promote'
          ? promoted(before)
          : verdict.action === 'rollback'
            ? rolledBack(before)
            : null;
    const written = await this.storage.rollout.apply(r.model, {
      expectedRevision: r.revision,
      next,
      phaseStartedAt: next ? now : r.phaseStartedAt,
      entry: {
        at: now,
        actor: 'controller',
        action: `auto.${verdict.action}` as AuditAction,
        reason: verdict.reason,
        details: {
          window: { since, until: now },
          stable: { version: r.stable, ...brief(stable) },
          canary: { version: r.canary, ...brief(canary) },
        },
      },
    });
    if (written && next) this.onChange(r.model);
    this.log?.info({ model: r.model, action: verdict.action, applied: Boolean(written) }, verdict.reason);
    return {
      model: r.model,
      action: verdict.action,
      reason: verdict.reason,
      rollout: written ? plainRollout(written) : before,
      applied: Boolean(written),
    };
  }
}

// The audit log keeps the compared figures, not the histograms.
function brief(f: VersionFigures) {
  const { confidenceHist: _h, labelCounts: _l, ...rest } = f;
  return rest;
}
