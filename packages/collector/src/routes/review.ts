/**
 * The human review queue: `GET /v1/models/:model/review` lists inputs a person should label (low-confidence
 * predictions without a trusted label, and ties from label resolution); `POST /v1/events/:id/label` stores a
 * reviewer's label, which wins over every user correction of that input and takes it off the queue.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { getReviewQueue, newId, postLabel } from '@edgeloop/protocol';
import { EL_NOT_A_PREDICTION, EL_NOT_FOUND } from '../errors.js';
import { routeOf } from './route.js';

export default async function review(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.route({
    ...routeOf(getReviewQueue),
    handler: async (request) => {
      const { limit, offset } = request.query;
      return app.storage.labels.queue(request.params.model, { limit, offset });
    },
  });

  app.route({
    ...routeOf(postLabel),
    handler: async (request, reply) => {
      const { id } = request.params;
      const { label, comment } = request.body;
      const result = await app.storage.labels.review({
        id: newId(),
        eventId: id,
        label,
        comment: comment ?? null,
        reviewer: request.key?.name ?? 'unknown',
        createdAt: Date.now(),
      });
      if ('error' in result) {
        if (result.error === 'not_found') throw new EL_NOT_FOUND(`Event "${id}"`);
        const event = await app.storage.events.get(id);
        throw new EL_NOT_A_PREDICTION(id, event?.type ?? 'unknown');
      }
      request.log.info(
        { eventId: id, inputHash: result.review.inputHash, reviewer: result.review.reviewer },
        'input labeled by a reviewer',
      );
      return reply.status(201).send(result.review);
    },
  });
}
