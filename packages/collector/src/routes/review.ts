/**
 * The human review queue: `GET /v1/models/:model/review` lists inputs a person should label (low-confidence
 * predictions without a trusted label, and ties from label resolution) with the labels a reviewer may give;
 * `POST /v1/events/:id/label` stores a reviewer's label, one of the model's labels, which wins over every user
 * correction of that input and takes it off the queue; `DELETE /v1/reviews/:id` undoes one not yet in a batch.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { deleteLabel, getReviewQueue, newId, postLabel } from '@edgeloop/protocol';
import { EL_NOT_A_PREDICTION, EL_NOT_FOUND, EL_REVIEW_IN_BATCH, EL_UNKNOWN_LABEL } from '../errors.js';
import { modelLabels } from '../labels/model-labels.js';
import { routeOf } from './route.js';

/** At most this many of the model's labels are named in an `EL_UNKNOWN_LABEL` message. */
const LABELS_IN_MESSAGE = 20;

export default async function review(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.route({
    ...routeOf(getReviewQueue),
    handler: async (request) => {
      const { limit, offset } = request.query;
      const { model } = request.params;
      const [page, labels] = await Promise.all([
        app.storage.labels.queue(model, { limit, offset }),
        modelLabels(app.storage, model),
      ]);
      return { ...page, labels: labels?.labels ?? null };
    },
  });

  app.route({
    ...routeOf(postLabel),
    handler: async (request, reply) => {
      const { id } = request.params;
      const { label, comment } = request.body;
      const event = await app.storage.events.get(id);
      if (event?.type === 'prediction') {
        const allowed = await modelLabels(app.storage, event.model);
        if (allowed && !allowed.labels.includes(label)) {
          const named = allowed.labels.slice(0, LABELS_IN_MESSAGE).map((l) => JSON.stringify(l));
          if (allowed.labels.length > LABELS_IN_MESSAGE) named.push(`… ${allowed.labels.length} in all`);
          throw new EL_UNKNOWN_LABEL(label, event.model, `version ${allowed.version} has ${named.join(', ')}`);
        }
      }
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
        throw new EL_NOT_A_PREDICTION(id, event?.type ?? 'unknown');
      }
      request.log.info(
        { eventId: id, inputHash: result.review.inputHash, reviewer: result.review.reviewer },
        'input labeled by a reviewer',
      );
      return reply.status(201).send(result.review);
    },
  });

  app.route({
    ...routeOf(deleteLabel),
    handler: async (request) => {
      const { id } = request.params;
      const result = await app.storage.labels.undo(id);
      if ('error' in result) {
        if (result.error === 'not_found') throw new EL_NOT_FOUND(`Review "${id}"`);
        throw new EL_REVIEW_IN_BATCH(id);
      }
      request.log.info(
        { reviewId: id, inputHash: result.review.inputHash, by: request.key?.name ?? 'unknown' },
        'reviewer label undone',
      );
      return result.review;
    },
  });
}
