/**
 * The human review queue: `GET /v1/models/:model/review` lists inputs a person should label (low-confidence
 * predictions without a trusted label, and ties from label resolution) with the labels a reviewer may give;
 * `POST /v1/events/:id/label` stores a reviewer's label, one of the model's labels (a multi-label model's: a label
 * set, stored in its canonical form), which wins over every user correction of that input and takes it off the queue;
 * `DELETE /v1/reviews/:id` undoes one not yet in a batch.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  canonicalLabelSet,
  deleteLabel,
  getReviewQueue,
  labelOrLabelsProblem,
  newId,
  parseLabelSet,
  postLabel,
} from '@edgeloop/protocol';
import {
  EL_INVALID_BODY,
  EL_LABEL_KIND,
  EL_NOT_A_PREDICTION,
  EL_NOT_FOUND,
  EL_REVIEW_IN_BATCH,
  EL_UNKNOWN_LABEL,
} from '../errors.js';
import type { ReviewRecord } from '../labels/store.js';
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
      return { ...page, labels: labels?.labels ?? null, multiLabel: labels?.multiLabel ?? false };
    },
  });

  app.route({
    ...routeOf(postLabel),
    handler: async (request, reply) => {
      const { id } = request.params;
      const { comment } = request.body;
      const problem = labelOrLabelsProblem(request.body);
      if (problem) throw new EL_INVALID_BODY(`the body ${problem}`);
      const given = request.body.labels ?? [request.body.label!];
      const event = await app.storage.events.get(id);
      if (event?.type === 'prediction') {
        const allowed = await modelLabels(app.storage, event.model);
        if (allowed && allowed.multiLabel !== (request.body.labels !== undefined)) {
          throw new EL_LABEL_KIND(
            event.model,
            `${allowed.multiLabel ? 'multi-label' : 'single-label'} (version ${allowed.version})`,
            allowed.multiLabel ? '"labels", the set of its labels that apply' : '"label", one of its labels',
          );
        }
        const unknown = allowed && given.find((l) => !allowed.labels.includes(l));
        if (allowed && unknown !== undefined && unknown !== null) {
          const named = allowed.labels.slice(0, LABELS_IN_MESSAGE).map((l) => JSON.stringify(l));
          if (allowed.labels.length > LABELS_IN_MESSAGE) named.push(`… ${allowed.labels.length} in all`);
          throw new EL_UNKNOWN_LABEL(unknown, event.model, `version ${allowed.version} has ${named.join(', ')}`);
        }
      }
      const result = await app.storage.labels.review({
        id: newId(),
        eventId: id,
        label: request.body.labels ? canonicalLabelSet(request.body.labels) : request.body.label!,
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
      return reply.status(201).send(withLabels(result.review, request.body.labels !== undefined));
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
      return withLabels(result.review, parseLabelSet(result.review.label) !== null);
    },
  });
}

/** A review as the API answers it: a label set's review also has `labels`, the set itself. */
function withLabels(review: ReviewRecord, isSet: boolean): ReviewRecord & { labels?: string[] } {
  const set = isSet ? parseLabelSet(review.label) : null;
  return set ? { ...review, labels: set } : review;
}
