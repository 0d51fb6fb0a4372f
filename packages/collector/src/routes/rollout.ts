/**
 * Rollout per model: `GET`/`PUT /v1/models/:model/rollout` (trainer, admin), `POST .../rollout/promote` and
 * `.../rollback` (admin), and `GET .../rollout/history` (admin), the audit log of every change and controller
 * decision with who and why. A live canary's percent only goes up (see rollout/rules.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { AutoPolicy, ErrorResponse, ModelName, Rollout, VersionName } from '@edgeloop/protocol';
import { EMPTY_ROLLOUT, plainRollout, promoted, rolledBack } from '../rollout/rules.js';
import { EL_INVALID_BODY, EL_INVALID_ROLLOUT, EL_MODEL_NOT_FOUND, EL_NO_CANARY } from '../errors.js';

const ModelParams = Type.Object({ model: ModelName });
const Reason = Type.String({ minLength: 1, maxLength: 500 });

const RolloutUpdate = Type.Object(
  {
    stable: Type.Union([VersionName, Type.Null()]),
    canary: Type.Union([VersionName, Type.Null()]),
    canaryPercent: Type.Number({ minimum: 0, maximum: 100 }),
    auto: Type.Optional(Type.Union([AutoPolicy, Type.Null()], { description: 'omitted: keep the current policy' })),
    reason: Type.Optional(Reason),
  },
  { additionalProperties: false },
);

const AuditEntry = Type.Object({
  seq: Type.Integer(),
  at: Type.Integer(),
  actor: Type.String(),
  action: Type.String(),
  reason: Type.String(),
  before: Type.Union([Rollout, Type.Null()]),
  after: Rollout,
  details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
});

const writeResponses = { 200: Rollout, 404: ErrorResponse, 409: ErrorResponse, 422: ErrorResponse };

/** `{ reason? }` of an optional JSON body (promote and rollback may be sent without one). */
function reasonOf(request: FastifyRequest, fallback: string): string {
  const body = request.body as unknown;
  if (body === undefined || body === null || body === '') return fallback;
  if (typeof body !== 'object' || Array.isArray(body)) throw new EL_INVALID_BODY('body must be a JSON object like {"reason": "..."}');
  const keys = Object.keys(body);
  const reason = (body as { reason?: unknown }).reason;
  if (keys.some((k) => k !== 'reason') || (reason !== undefined && (typeof reason !== 'string' || reason.length === 0 || reason.length > 500))) {
    throw new EL_INVALID_BODY('body accepts only "reason", a string of 1 to 500 characters');
  }
  return (reason as string | undefined) ?? fallback;
}

export default async function rollout(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { storage } = app;
  const actorOf = (request: FastifyRequest) => request.key?.name ?? 'unknown';

  async function assertModel(model: string): Promise<void> {
    if ((await storage.registry.list(model)).length === 0) throw new EL_MODEL_NOT_FOUND(model);
  }

  app.get(
    '/v1/models/:model/rollout',
    { config: { scope: 'trainer' }, schema: { summary: 'Stable, canary, canary percent and auto policy', params: ModelParams, response: { 200: Rollout, 404: ErrorResponse } } },
    async (request) => {
      const { model } = request.params;
      const state = await storage.rollout.get(model);
      if (state) return plainRollout(state);
      await assertModel(model);
      return EMPTY_ROLLOUT;
    },
  );

  app.put(
    '/v1/models/:model/rollout',
    {
      config: { scope: 'trainer' },
      schema: { summary: 'Set the rollout (a live canary\'s percent may only go up)', params: ModelParams, body: RolloutUpdate, response: writeResponses },
    },
    async (request) => {
      const { model } = request.params;
      await assertModel(model);
      const { reason, auto, ...rest } = request.body;
      // The model has versions (assertModel): without a stable one, every manifest would answer 404.
      if (rest.stable === null) {
        throw new EL_INVALID_ROLLOUT(
          `model "${model}" has versions, so stable cannot be null (every device outside the canary would get no model): name a stable version`,
        );
      }
      const state = await app.changeRollout(model, {
        actor: actorOf(request),
        action: 'set',
        reason: reason ?? 'set through the API',
        mutate: (current) => ({ ...rest, auto: auto === undefined ? current.auto : auto }),
      });
      return plainRollout(state);
    },
  );

  app.post(
    '/v1/models/:model/rollout/promote',
    { config: { scope: 'admin' }, schema: { summary: 'Make the canary the stable version; body { reason? }', params: ModelParams, response: writeResponses } },
    async (request) => {
      const { model } = request.params;
      const reason = reasonOf(request, 'promoted through the API');
      const state = await app.changeRollout(model, {
        actor: actorOf(request),
        action: 'promote',
        reason,
        mutate: (current) => {
          if (current.canary === null) throw new EL_NO_CANARY(model, 'promote');
          return promoted(current);
        },
      });
      return plainRollout(state);
    },
  );

  app.post(
    '/v1/models/:model/rollout/rollback',
    { config: { scope: 'admin' }, schema: { summary: 'End the canary: everyone back on stable; body { reason? }', params: ModelParams, response: writeResponses } },
    async (request) => {
      const { model } = request.params;
      const reason = reasonOf(request, 'rolled back through the API');
      const state = await app.changeRollout(model, {
        actor: actorOf(request),
        action: 'rollback',
        reason,
        mutate: (current) => {
          if (current.canary === null) throw new EL_NO_CANARY(model, 'roll back');
          return rolledBack(current);
        },
      });
      return plainRollout(state);
    },
  );

  app.get(
    '/v1/models/:model/rollout/history',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Audit log of rollout changes and controller decisions, newest first',
        params: ModelParams,
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }),
        response: { 200: Type.Object({ model: ModelName, entries: Type.Array(AuditEntry) }) },
      },
    },
    async (request) => {
      const { model } = request.params;
      const entries = await storage.rollout.history(model, request.query.limit);
      return { model, entries: entries.map(({ model: _m, ...e }) => e) };
    },
  );
}
