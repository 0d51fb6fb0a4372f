/**
 * Rollout per model: `GET`/`PUT /v1/models/:model/rollout` (trainer, admin), `POST .../rollout/promote` and
 * `.../rollback` (admin), the admin console's controls (`.../canary` starts a canary of any version, `.../percent`
 * raises it, `.../pause` and `.../resume` hold the automatic policy, each with a required reason),
 * `GET .../rollout/decision` (the controller's next decision and why) and `GET .../rollout/history` (admin), the
 * audit log of every change and controller decision with who and why. A live canary's percent only goes up
 * (see rollout/rules.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Compile } from 'typebox/compile';
import {
  getCanaryDecision,
  getRollout,
  getRolloutHistory,
  pauseAuto,
  postCanary,
  postCanaryPercent,
  promoteCanary,
  putRollout,
  ReasonBody,
  resumeAuto,
  rollbackCanary,
} from '@edgeloop/protocol';
import { EMPTY_ROLLOUT, plainRollout, promoted, rolledBack } from '../rollout/rules.js';
import { canaryDecision } from '../rollout/decision.js';
import { EL_INVALID_BODY, EL_INVALID_ROLLOUT, EL_MODEL_NOT_FOUND, EL_NO_AUTO_POLICY, EL_NO_CANARY } from '../errors.js';
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
    ...routeOf(postCanary),
    handler: async (request) => {
      const { model } = request.params;
      await assertModel(model);
      const { version, percent, reason } = request.body;
      const state = await app.changeRollout(model, {
        actor: actorOf(request),
        action: 'canary',
        reason,
        mutate: (current) => {
          if (current.stable === null)
            throw new EL_INVALID_ROLLOUT(`model "${model}" has no stable version for a canary to be compared with`);
          return { ...current, canary: version, canaryPercent: percent };
        },
      });
      return plainRollout(state);
    },
  });

  app.route({
    ...routeOf(postCanaryPercent),
    handler: async (request) => {
      const { model } = request.params;
      const { percent, reason } = request.body;
      const state = await app.changeRollout(model, {
        actor: actorOf(request),
        action: 'percent',
        reason,
        mutate: (current) => {
          if (current.canary === null) throw new EL_NO_CANARY(model, 'set the percent of');
          return { ...current, canaryPercent: percent };
        },
      });
      return plainRollout(state);
    },
  });

  for (const [spec, paused] of [
    [pauseAuto, true],
    [resumeAuto, false],
  ] as const) {
    app.route({
      ...routeOf(spec),
      handler: async (request) => {
        const { model } = request.params;
        const state = await app.changeRollout(model, {
          actor: actorOf(request),
          action: paused ? 'pause' : 'resume',
          reason: request.body.reason,
          // Resuming restarts the analysis window: the canary is judged on what it does from now on.
          restart: !paused,
          mutate: (current) => {
            if (current.auto === null) throw new EL_NO_AUTO_POLICY(model, paused ? 'pause' : 'resume');
            const { paused: _was, ...policy } = current.auto;
            return { ...current, auto: paused ? { ...policy, paused: true } : policy };
          },
        });
        return plainRollout(state);
      },
    });
  }

  app.route({
    ...routeOf(getCanaryDecision),
    handler: async (request) => {
      const { model } = request.params;
      const state = await storage.rollout.get(model);
      if (state) return canaryDecision(storage, state, Date.now());
      await assertModel(model);
      return {
        model,
        rollout: EMPTY_ROLLOUT,
        state: 'no-canary' as const,
        window: null,
        dueAt: null,
        stable: null,
        canary: null,
        next: null,
        summary: 'No rollout yet: nothing is served.',
      };
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
