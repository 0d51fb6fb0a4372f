/**
 * The training lease a watch holds while it runs a cycle, so that of several trainers watching one model only one
 * trains it at a time. Claimed before the cycle, renewed every third of its time-to-live while training, confirmed
 * (renewed once more) right before anything is published, and released after. A lease that was lost (it expired
 * and another trainer took the job over) stops the cycle's publish with ELT_LEASE_LOST.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Lease } from '@edgeloop/protocol';
import { CollectorAnswer, type CollectorClient } from '../collector/client.js';
import { TrainerError } from '../errors.js';
import { silent, type Reporter } from './reporter.js';

export interface LeaseOptions {
  /** Who holds the lease, as the collector shows it (default `<host>:<pid>:<nonce>`, one per process). */
  holder?: string;
  /** How long the lease lasts without renewal, in ms (default DEFAULT_LEASE_TTL_MS). */
  ttlMs?: number;
}

/** The default time-to-live of a training lease: a trainer that dies is replaced this long after its last renewal. */
export const DEFAULT_LEASE_TTL_MS = 60_000;

/** This process's holder name: printable ASCII, as the collector requires. */
export function defaultHolder(): string {
  const host = hostname().replace(/[^\x21-\x7e]/g, '_') || 'host';
  return `${host}:${process.pid}:${randomBytes(3).toString('hex')}`.slice(-200);
}

/** A training lease held by this process. */
export class TrainingLease {
  #lease: Lease;
  #lost: TrainerError | null = null;
  #timer: NodeJS.Timeout | null = null;
  #renewing: Promise<void> | null = null;
  #unreachableSaid = false;

  private constructor(
    private readonly client: CollectorClient,
    lease: Lease,
    private readonly ttlMs: number,
    private readonly reporter: Reporter,
  ) {
    this.#lease = lease;
  }

  /**
   * Claims the lease of `model` and starts renewing it; resolves to `{ heldBy }` (the other trainer's lease, or null
   * while its claim commits) when another trainer holds it.
   */
  static async claim(
    client: CollectorClient,
    model: string,
    options: LeaseOptions & { reporter?: Reporter } = {},
  ): Promise<{ lease: TrainingLease; heldBy?: undefined } | { lease?: undefined; heldBy: Lease | null }> {
    const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    const answer = await client.claimLease(model, options.holder ?? processHolder(), ttlMs);
    if (!answer.lease) return { heldBy: answer.heldBy };
    const lease = new TrainingLease(client, answer.lease, ttlMs, options.reporter ?? silent);
    lease.#timer = setInterval(() => void lease.#renew().catch(() => {}), Math.max(100, Math.floor(ttlMs / 3)));
    return { lease };
  }

  /** The lease as the collector last answered it. */
  get current(): Lease {
    return this.#lease;
  }

  /** Throws ELT_LEASE_LOST when the lease is lost, else renews it now: call right before publishing. */
  async confirm(): Promise<void> {
    if (this.#lost) throw this.#lost;
    await this.#renew();
    if (this.#lost) throw this.#lost;
  }

  /**
   * Stops renewing and releases the lease; resolves to whether it was released (a lost one is left alone, and one
   * whose release fails expires by its time-to-live).
   */
  async release(): Promise<boolean> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#renewing?.catch(() => {});
    if (this.#lost) return false;
    const { model, leaseId } = this.#lease;
    try {
      this.#lease = await this.client.releaseLease(model, leaseId);
      return true;
    } catch (e) {
      this.reporter.step(`could not release the lease of "${model}" (${(e as Error).message}): it expires by itself`);
      return false;
    }
  }

  // One renewal at a time: the timer's and confirm()'s share it. A collector that cannot be reached is tried again
  // at the next tick (the lease may expire meanwhile, and confirm() then fails); only EL_LEASE_LOST is final.
  #renew(): Promise<void> {
    this.#renewing ??= (async () => {
      const { model, leaseId } = this.#lease;
      try {
        this.#lease = await this.client.renewLease(model, leaseId, this.ttlMs);
        this.#unreachableSaid = false;
      } catch (e) {
        if (e instanceof CollectorAnswer && e.collectorCode === 'EL_LEASE_LOST') {
          this.#lost = new TrainerError('ELT_LEASE_LOST', [model, e.message], { cause: e });
          if (this.#timer) clearInterval(this.#timer);
          this.#timer = null;
          this.reporter.step(this.#lost.message);
          return;
        }
        if (!this.#unreachableSaid)
          this.reporter.step(`could not renew the lease of "${model}": ${(e as Error).message}`);
        this.#unreachableSaid = true;
        throw e;
      }
    })().finally(() => (this.#renewing = null));
    return this.#renewing;
  }
}

let holderOfProcess: string | null = null;
/** One holder name per process, so that a claim resent after a lost answer gets the same lease back. */
function processHolder(): string {
  return (holderOfProcess ??= defaultHolder());
}
