/**
 * Training leases: of all the trainers watching one model, the one holding its lease trains it. A lease is
 * claimed for a time-to-live, renewed while the job runs and released after it; one that expires (its holder
 * died) is taken over by the next claim, which counts one more `attempt` and gets a new `leaseId`, so a late
 * renew or release by the old holder answers 409 `EL_LEASE_LOST` and that holder must publish nothing.
 */
import Type, { type Static } from 'typebox';
import { ModelName, Timestamp, Uuid } from '../schemas.js';

const closed = { additionalProperties: false } as const;

/** Shortest and longest lease a trainer may ask for, in ms. */
export const MIN_LEASE_TTL_MS = 500;
export const MAX_LEASE_TTL_MS = 3_600_000;

/** Who holds a lease: printable ASCII without spaces, e.g. `host:pid:nonce` (each trainer process its own). */
export const LeaseHolder = Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$' });

/** How long a lease lasts from now unless renewed, in ms. */
export const LeaseTtl = Type.Integer({ minimum: MIN_LEASE_TTL_MS, maximum: MAX_LEASE_TTL_MS });

/** `POST /v1/models/:model/lease`. */
export const LeaseRequest = Type.Object({ holder: LeaseHolder, ttlMs: LeaseTtl }, closed);

/** `POST /v1/models/:model/lease/:leaseId/renew`. */
export const LeaseRenewal = Type.Object({ ttlMs: LeaseTtl }, closed);

/** Most models one `POST /v1/leases/next` may name. */
export const MAX_LEASE_MODELS = 100;

/** `POST /v1/leases/next`: the models this trainer would train now, in its order of preference. */
export const NextLeaseRequest = Type.Object(
  {
    holder: LeaseHolder,
    ttlMs: LeaseTtl,
    models: Type.Array(ModelName, { minItems: 1, maxItems: MAX_LEASE_MODELS, uniqueItems: true }),
  },
  closed,
);

/** A model's training lease as the collector sees it now. */
export const Lease = Type.Object(
  {
    model: ModelName,
    /** New at every claim: renew and release name it, so a holder that lost its lease cannot touch the next one's. */
    leaseId: Uuid,
    holder: LeaseHolder,
    acquiredAt: Timestamp,
    expiresAt: Timestamp,
    /** 1 for a claim after a release (or the first); one more for each takeover of an expired lease since. */
    attempt: Type.Integer({ minimum: 1 }),
    /** `held` until `expiresAt`, then `expired` (free to take over); `released` once its holder let go. */
    state: Type.Union([Type.Literal('held'), Type.Literal('expired'), Type.Literal('released')]),
  },
  closed,
);

/** `POST /v1/leases/next`'s answer: the lease granted, or null when every named model is held. */
export const NextLease = Type.Object({ lease: Type.Union([Lease, Type.Null()]) }, closed);

export type LeaseRequest = Static<typeof LeaseRequest>;
export type NextLeaseRequest = Static<typeof NextLeaseRequest>;
export type NextLease = Static<typeof NextLease>;
export type LeaseRenewal = Static<typeof LeaseRenewal>;
export type Lease = Static<typeof Lease>;
