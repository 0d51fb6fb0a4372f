/**
 * Training leases: `GET`/`POST /v1/models/:model/lease` (read, claim), `POST …/lease/:leaseId/renew`,
 * `DELETE …/lease/:leaseId` (release) and `POST /v1/leases/next` (the first free one of several models), trainer keys. Of the trainers watching one model, the one holding its lease
 * trains it; a lease that expires is taken over by the next claim, and its old holder's renew then answers 409
 * `EL_LEASE_LOST`, which tells it to publish nothing.
 */
import type { FastifyInstance } from 'fastify';
import { Counter } from 'prom-client';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { claimLease, claimNextLease, getLease, newId, releaseLease, renewLease, type Lease } from '@edgeloop/protocol';
import type { LeaseRecord } from '../leases/types.js';
import { EL_LEASE_HELD, EL_LEASE_LOST, EL_NOT_FOUND } from '../errors.js';
import { routeOf } from './route.js';

/** The lease as answered: its state is read against `now`. */
export function leaseOf(r: LeaseRecord, now: number): Lease {
  return {
    model: r.model,
    leaseId: r.leaseId,
    holder: r.holder,
    acquiredAt: r.acquiredAt,
    expiresAt: r.expiresAt,
    attempt: r.attempt,
    state: r.releasedAt !== null ? 'released' : r.expiresAt > now ? 'held' : 'expired',
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** 409 EL_LEASE_HELD, with who holds the lease and until when also as fields of the body. */
function held(model: string, current: LeaseRecord | null): Error {
  const err = current
    ? new EL_LEASE_HELD(model, current.holder, iso(current.expiresAt))
    : new EL_LEASE_HELD(model, 'another trainer', 'its claim commits');
  return Object.assign(err, {
    details: current ? { holder: current.holder, expiresAt: current.expiresAt } : { holder: null, expiresAt: null },
  });
}

function lost(model: string, leaseId: string, current: LeaseRecord | null, now: number): Error {
  const why = !current
    ? 'the model has no lease'
    : current.leaseId === leaseId
      ? 'it was released'
      : `"${current.holder}" holds the model's lease now, attempt ${current.attempt}${current.expiresAt > now ? '' : ' (expired)'}`;
  return new EL_LEASE_LOST(leaseId, model, why);
}

export default async function leases(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { storage } = app;
  // A rising `takeover` count means trainers die or stall mid-cycle (or their ttl is shorter than a training step).
  const outcomes = new Counter({
    name: 'edgeloop_training_leases_total',
    help: 'Training-lease answers, by outcome (claimed, takeover, held, renewed, released, lost)',
    labelNames: ['outcome'] as const,
    registers: [app.prometheus.registry],
  });
  const claimed = (previous: LeaseRecord | null) =>
    outcomes.inc({ outcome: previous && previous.releasedAt === null ? 'takeover' : 'claimed' });

  app.route({
    ...routeOf(getLease),
    handler: async (request) => {
      const { model } = request.params;
      const lease = await storage.leases.get(model);
      if (!lease) throw new EL_NOT_FOUND(`A training lease of model "${model}"`);
      return leaseOf(lease, Date.now());
    },
  });

  app.route({
    ...routeOf(claimLease),
    handler: async (request) => {
      const { model } = request.params;
      const { holder, ttlMs } = request.body;
      const now = Date.now();
      const outcome = await storage.leases.claim(model, { holder, ttlMs, now, leaseId: newId() });
      if (outcome.status === 'held') {
        outcomes.inc({ outcome: 'held' });
        throw held(model, outcome.current);
      }
      const { lease, previous } = outcome;
      claimed(previous);
      if (previous && previous.releasedAt === null)
        request.log.info(
          { model, holder, attempt: lease.attempt, previous: previous.holder, expiredAt: previous.expiresAt },
          'training lease taken over after it expired',
        );
      return leaseOf(lease, now);
    },
  });

  app.route({
    ...routeOf(claimNextLease),
    handler: async (request) => {
      const { holder, ttlMs, models } = request.body;
      const now = Date.now();
      const outcome = await storage.leases.claimNext(models, { holder, ttlMs, now, leaseId: newId() });
      if (outcome.status === 'held') {
        outcomes.inc({ outcome: 'held' });
        return { lease: null };
      }
      const { lease, previous } = outcome;
      claimed(previous);
      if (previous && previous.releasedAt === null)
        request.log.info(
          { model: lease.model, holder, attempt: lease.attempt, previous: previous.holder },
          'training lease taken over after it expired',
        );
      return { lease: leaseOf(lease, now) };
    },
  });

  app.route({
    ...routeOf(renewLease),
    handler: async (request) => {
      const { model, leaseId } = request.params;
      const now = Date.now();
      const outcome = await storage.leases.renew(model, leaseId, request.body.ttlMs, now);
      outcomes.inc({ outcome: outcome.status === 'lost' ? 'lost' : 'renewed' });
      if (outcome.status === 'lost') throw lost(model, leaseId, outcome.current, now);
      return leaseOf(outcome.lease, now);
    },
  });

  app.route({
    ...routeOf(releaseLease),
    handler: async (request) => {
      const { model, leaseId } = request.params;
      const now = Date.now();
      const outcome = await storage.leases.release(model, leaseId, now);
      outcomes.inc({ outcome: outcome.status === 'lost' ? 'lost' : 'released' });
      if (outcome.status === 'lost') throw lost(model, leaseId, outcome.current, now);
      return leaseOf(outcome.lease, now);
    },
  });
}
