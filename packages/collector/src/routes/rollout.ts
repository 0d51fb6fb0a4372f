/**
 * Rollout per model: `GET`/`PUT /v1/models/:model/rollout` (trainer, admin), `POST .../rollout/promote` and
 * `.../rollback` (admin), and `GET .../rollout/history` (admin), the audit log of every change and controller
 * decision with who and why. A live canary's percent only goes up (see rollout/rules.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Compile } from 'typebox/compile';
import {
  getRollout,
  getRolloutHistory,
  promoteCanary,
  putRollout,
  ReasonBody,
  rollbackCanary,
} from '@edgeloop/protocol';
import { EMPTY_ROLLOUT, plainRollout, promoted, rolledBack } from '../rollout/rules.js';
import { EL_INVALID_BODY, EL_INVALID_ROLLOUT, EL_MODEL_NOT_FOUND, EL_NO_CANARY } from '../errors.js';
import { routeOf } from './route.js';

const reasonBody = Compile(ReasonBody);

/** `{ reason? }` of an optional JSON body (promote and rollback may be sent without one). */
function reasonOf(body: unknown, fallback: string): string {
  if (body === undefined || body === null || body === '') return fallback;
  if (typeof body !== 'object' || Array.isArray(body))
    throw new EL_INVALID_BODY('body must be a JSON object like {"reason": "..."}');
  if (!reasonBody.Check(body)) throw new EL_INVALID_BODY('body accepts only "reason", a string of 1 to 500 characters');
  return body.reason ?? fallback;
}

export default async function rollout(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { storage } = app;
  const actorOf = (request: FastifyRequest) => request.key?.name ?? 'unknown';

  async function assertModel(model: string): Promise<void> {
    if ((await storage.registry.list(model)).length === 0) throw new EL_MODEL_NOT_FOUND(model);
  }

  app.route({
    ...routeOf(getRollout),
    handler: async (request) => {
      const { model } = request.params;
      const state = await storage.rollout.get(model);
      if (state) return plainRollout(state);
      await assertModel(model);
      return EMPTY_ROLLOUT;
    },
  });

  app.route({
    ...routeOf(putRollout),
    handler: async (request) => {
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
  });

  app.route({
    ...routeOf(promoteCanary),
    handler: async (request) => {
      const { model } = request.params;
      const reason = reasonOf(request.body, 'promoted through the API');
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
  });

  app.route({
    ...routeOf(rollbackCanary),
    handler: async (request) => {
      const { model } = request.params;
      const reason = reasonOf(request.body, 'rolled back through the API');
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
  });

  app.route({
    ...routeOf(getRolloutHistory),
    handler: async (request) => {
      const { model } = request.params;
      const entries = await storage.rollout.history(model, request.query.limit);
      return { model, entries: entries.map(({ model: _m, ...e }) => e) };
    },
  });
}
