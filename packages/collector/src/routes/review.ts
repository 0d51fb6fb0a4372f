/**
 * The human review queue: `GET /v1/models/:model/review` lists inputs a person should label (low-confidence
 * predictions without a trusted label, and ties from label resolution); `POST /v1/events/:id/label` stores a
 * reviewer's label, which wins over every user correction of that input and takes it off the queue.
 */
import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import { ErrorResponse, Label, ModelName, Sha256Hex, Tensor, Uuid, newId } from '@edgeloop/protocol';
import { EL_NOT_A_PREDICTION, EL_NOT_FOUND } from '../errors.js';

const closed = { additionalProperties: false } as const;

const QueueItem = Type.Object(
  {
    inputHash: Sha256Hex,
    reason: Type.Union([Type.Literal('low_confidence'), Type.Literal('tie')]),
    predictionId: Type.String(),
    predicted: Type.Object({ label: Type.String(), confidence: Type.Number() }, closed),
    predictions: Type.Integer(),
    firstSeen: Type.Integer(),
    input: Type.Union([Tensor, Type.Null()]),
    corrections: Type.Array(Type.Object({ label: Type.String(), deviceId: Type.String(), comment: Type.Union([Type.String(), Type.Null()]) }, closed)),
  },
  closed,
);

const Review = Type.Object(
  {
    id: Type.String(),
    eventId: Type.String(),
    model: Type.String(),
    inputHash: Type.String(),
    label: Type.String(),
    comment: Type.Union([Type.String(), Type.Null()]),
    reviewer: Type.String(),
    createdAt: Type.Integer(),
  },
  closed,
);

const LabelBody = Type.Object({ label: Label, comment: Type.Optional(Type.String({ maxLength: 2000 })) }, closed);

export default async function review(app: FastifyInstance) {
  app.get(
    '/v1/models/:model/review',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'The review queue of a model',
        description: 'Inputs waiting for a person, ties first, then oldest first. Label one with `POST /v1/events/:id/label` on its `predictionId`.',
        params: Type.Object({ model: ModelName }, closed),
        querystring: Type.Object(
          { limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }), offset: Type.Integer({ minimum: 0, default: 0 }) },
          closed,
        ),
        response: { 200: Type.Object({ total: Type.Integer(), items: Type.Array(QueueItem) }, closed), '4xx': ErrorResponse, '5xx': ErrorResponse },
      },
    },
    async (request) => {
      const { model } = request.params as { model: string };
      const { limit, offset } = request.query as { limit: number; offset: number };
      return app.storage.labels.queue(model, { limit, offset });
    },
  );

  app.post(
    '/v1/events/:id/label',
    {
      config: { scope: 'admin' },
      schema: {
        summary: "Label a prediction's input as a reviewer",
        description: 'A reviewer label wins over every correction of the same input in the next batch.',
        params: Type.Object({ id: Uuid }, closed),
        body: LabelBody,
        response: { 201: Review, '4xx': ErrorResponse, '5xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const body = request.body as Static<typeof LabelBody>;
      const result = await app.storage.labels.review({
        id: newId(),
        eventId: id,
        label: body.label,
        comment: body.comment ?? null,
        reviewer: request.key?.name ?? 'unknown',
        createdAt: Date.now(),
      });
      if ('error' in result) {
        if (result.error === 'not_found') throw new EL_NOT_FOUND(`Event "${id}"`);
        const event = await app.storage.events.get(id);
        throw new EL_NOT_A_PREDICTION(id, event?.type ?? 'unknown');
      }
      request.log.info({ eventId: id, inputHash: result.review.inputHash, reviewer: result.review.reviewer }, 'input labeled by a reviewer');
      return reply.status(201).send(result.review);
    },
  );
}
