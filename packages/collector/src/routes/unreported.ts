/**
 * `GET /v1/models/:model/unreported`: the kept predictions (low-confidence and sampled, uploaded with their input)
 * of one version whose input no user corrected and no reviewer labeled, once they are old enough (`settledMs`) that
 * a user would have reported them. The trainer reads them as implicitly accepted examples of the live inputs.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { getUnreported } from '@edgeloop/protocol';
import { routeOf } from './route.js';

export default async function unreported(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.route({
    ...routeOf(getUnreported),
    handler: async (request) => {
      const { version, settledMs, limit } = request.query;
      const receivedBy = Date.now() - settledMs;
      return { items: await app.storage.labels.unreported(request.params.model, { version, receivedBy, limit }) };
    },
  });
}
