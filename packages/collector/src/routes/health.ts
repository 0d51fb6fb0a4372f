/** Liveness and readiness probes; Prometheus `/metrics` lives in its own plugin. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { getHealth, getReady } from '@edgeloop/protocol';
import { routeOf } from './route.js';

export default async function health(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.route({ ...routeOf(getHealth), handler: async () => ({ ok: true }) });
  app.route({
    ...routeOf(getReady),
    handler: async () => {
      await app.storage.ping();
      return { ok: true, storage: app.storage.kind };
    },
  });
}
