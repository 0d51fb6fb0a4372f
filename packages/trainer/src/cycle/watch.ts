/**
 * Watch mode: poll the collector and run a retraining cycle when a trigger fires — N new labeled examples, a
 * schedule (every S seconds, if anything is new), or a drift alert from the collector's metrics (if anything is
 * new). Polling makes no batch: the collector says how many examples a freeze would produce
 * (`GET /v1/models/:model/labels/pending`), and a batch is frozen only when a cycle runs, so each version gets one
 * batch rather than one per poll (ties alone are sent to review, which makes none). A rejected cycle's batches are
 * retried together with newer labels once the label trigger fires again. A collector that goes away
 * (restart, network) is waited for; a refused token stops the watch.
 *
 * Several trainers may watch one model: a cycle runs only under the model's training lease (lease.ts). A watch that
 * cannot get it says who holds it and tries again at its next poll; once it gets it, it reads the work again (the
 * other trainer may have trained on it meanwhile). A lease lost mid-cycle publishes nothing, and the watch goes on.
 */
import { CollectorAnswer, type CollectorClient, type Lease } from '../collector/client.js';
import { isTrainerError } from '../errors.js';
import {
  pendingWork,
  retrain,
  sendTiesToReview,
  waitingWork,
  type RetrainOptions,
  type RetrainResult,
  type Waiting,
} from './retrain.js';
import { stableModel } from './lineage.js';
import { TrainingLease, type LeaseOptions } from './lease.js';
import { silent } from './reporter.js';

export type Trigger = 'labels' | 'schedule' | 'drift';

export interface WatchOptions extends RetrainOptions {
  /**
   * Label-count trigger: this many labeled examples not yet trained on (default 50): those a freeze would produce
   * now, plus those in batches no version has trained on.
   */
  minLabels?: number;
  /** Schedule trigger: a cycle every this many seconds when anything is new (default: off). */
  everySec?: number | null;
  /** Drift trigger: a label or confidence PSI above this on the collector's metrics (default 0.2; null: off). */
  driftThreshold?: number | null;
  /** Seconds between polls (default 30). */
  pollSec?: number;
  /** Stop after this many cycles (default: never). */
  maxCycles?: number;
  signal?: AbortSignal;
  onCycle?: (result: RetrainResult, trigger: Trigger) => void;
  /** The model's training lease (default: claimed with a 60 s time-to-live); false trains without one. */
  lease?: LeaseOptions | false;
}

/** Watches until `signal` aborts (or `maxCycles` cycles ran); resolves with the number of cycles. */
export async function watch(client: CollectorClient, options: WatchOptions): Promise<number> {
  const r = options.reporter ?? silent;
  const minLabels = options.minLabels ?? 50;
  const pollMs = (options.pollSec ?? 30) * 1000;
  const attempted = new Set<string>();
  let driftThreshold = options.driftThreshold === undefined ? 0.2 : options.driftThreshold;
  let lastCycle = Date.now();
  let cycles = 0;
  let waitingSaid = '';
  let heldSaid = '';
  r.step(
    `watching "${options.model}": ${minLabels} new labeled examples${options.everySec ? `, every ${options.everySec} s` : ''}${driftThreshold !== null ? `, drift PSI > ${driftThreshold}` : ''}`,
  );
  let stableChecked = false;
  let tiesSent = 0;
  while (!options.signal?.aborted && (options.maxCycles === undefined || cycles < options.maxCycles)) {
    try {
      // Once: a model without a stable version has nothing to fine-tune, so say so now rather than at the first trigger.
      if (!stableChecked) {
        await stableModel(client, options.model);
        stableChecked = true;
      }
      // Batches a rejected cycle tried do not count towards a trigger: only labels that came after them do.
      const waiting = await waitingWork(client, options.model, attempted);
      if (waitingSaid.startsWith('collector')) r.step('collector is back');
      const anything = waiting.labels > 0 || waiting.unused.length > 0;
      let trigger: Trigger | null = null;
      if (waiting.labels + waiting.unusedExamples >= minLabels) trigger = 'labels';
      else if (anything && options.everySec && Date.now() - lastCycle >= options.everySec * 1000) trigger = 'schedule';
      else if (anything && driftThreshold !== null) {
        const drift = await driftAlert(client, options.model, driftThreshold).catch((e: unknown) => {
          // The metrics route needs a trainer or admin key (an ingest key is refused): without one the drift trigger
          // is off, once and with a word.
          if (isTrainerError(e, 'ELT_BAD_TOKEN')) {
            r.step('drift trigger off: reading metrics needs a trainer or admin key');
            driftThreshold = null;
            return false;
          }
          throw e;
        });
        if (drift) trigger = 'drift';
      }
      if (!trigger && waiting.ties !== tiesSent) {
        // Once per change in their number, so that reviewers see ties while the watch waits for more labels.
        if (waiting.ties === 0 || (await sendTiesToReview(client, options.model, waiting))) tiesSent = waiting.ties;
      }
      const status = describeWaiting(waiting);
      if (!trigger && status !== waitingSaid) r.step(`waiting: ${status}`);
      waitingSaid = trigger ? '' : status;
      if (!trigger) heldSaid = '';
      if (trigger) {
        let lease: TrainingLease | null = null;
        if (options.lease !== false) {
          const claimed = await TrainingLease.claim(client, options.model, { ...options.lease, reporter: r });
          if (!claimed.lease) {
            // Once per holder and attempt, not at every poll.
            const said = heldMessage(options.model, claimed.heldBy, pollMs);
            if (said !== heldSaid) r.step(said);
            heldSaid = said;
            await sleep(pollMs, options.signal);
            continue;
          }
          lease = claimed.lease;
          heldSaid = '';
          const { holder, attempt, leaseId } = lease.current;
          r.step(
            `lease ${leaseId} of "${options.model}" held by ${holder}, attempt ${attempt}${attempt > 1 ? ' (taking over from a trainer that stopped)' : ''}`,
          );
        }
        r.step(`trigger: ${trigger} (${status})`);
        try {
          // A rejected cycle's batches are not tried again as they are (the same data would fail the same way), but
          // once new labels fire a trigger they are retried together with them: every untrained batch is pending.
          // Under a lease the work is read again: another trainer may have trained on it while this one waited.
          const work = await pendingWork(client, options.model, new Set(), lease ? undefined : waiting);
          if (lease && work.pending.length === 0) {
            r.step('nothing left to learn: another trainer trained on it');
            waitingSaid = '';
          } else {
            const guarded = lease
              ? client.guardedBy(
                  () => lease.confirm(),
                  () => lease.current.leaseId,
                )
              : client;
            const result = await retrain(guarded, { ...options, exclude: new Set() }, work);
            cycles++;
            lastCycle = Date.now();
            if (result.status === 'rejected') {
              for (const b of result.batches) attempted.add(b);
              r.step(
                `rejected: batches ${result.batches.join(', ')} wait for ${minLabels} more labeled examples, then are retried with them`,
              );
            } else attempted.clear();
            options.onCycle?.(result, trigger);
            continue;
          }
        } catch (e) {
          // The lease expired and another trainer took the job over: this cycle published nothing; watch on.
          if (!isTrainerError(e, 'ELT_LEASE_LOST')) throw e;
          r.step(`${e.message}; watching on`);
        } finally {
          if (await lease?.release()) r.step(`lease of "${options.model}" released`);
        }
      }
    } catch (e) {
      // Down or restarting (connection refused, 503 while storage recovers): wait; anything else is for the caller.
      if (!isTrainerError(e, 'ELT_COLLECTOR_UNREACHABLE') && !(e instanceof CollectorAnswer && e.status >= 500))
        throw e;
      const said = `collector unavailable (${(e as Error).message}); retrying every ${pollMs / 1000} s`;
      if (waitingSaid !== said) r.step(said);
      waitingSaid = said;
    }
    await sleep(pollMs, options.signal);
  }
  return cycles;
}

function heldMessage(model: string, heldBy: Lease | null, pollMs: number): string {
  const who = heldBy
    ? `${heldBy.holder} holds the training lease of "${model}" (attempt ${heldBy.attempt})`
    : `another trainer is claiming "${model}"`;
  return `waiting: ${who}; trying again every ${pollMs / 1000} s`;
}

function describeWaiting(w: Waiting): string {
  const unused = w.unused.length
    ? `, ${w.unusedExamples} in ${w.unused.length} batch${w.unused.length > 1 ? 'es' : ''} no version trained on`
    : '';
  const ties = w.ties ? `, ${w.ties} tied for the review queue` : '';
  return `${w.labels} labeled example${w.labels === 1 ? '' : 's'} not yet in a batch${unused}${ties}`;
}

async function driftAlert(client: CollectorClient, model: string, threshold: number): Promise<boolean> {
  const report = await client.metrics(model, Date.now() - 3_600_000);
  return report.versions.some((v) => Math.max(v.drift.label ?? 0, v.drift.confidence ?? 0) > threshold);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
