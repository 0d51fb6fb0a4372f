/**
 * The golden set (not in design.md's table; added for the trainer's gate): per model, a frozen set of must-pass
 * examples that is never trained on. `PUT /v1/models/:model/golden` sets it once (the same content again is a
 * no-op); replacing it takes an admin key naming the set it replaces (`?replaces=<id>`), and the new set gets
 * a new id. `GET` streams it as NDJSON with split 'golden'. Inputs in it are left out of every batch.
 */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { Batch, ErrorResponse, ModelName, newId } from '@edgeloop/protocol';
import { parseGolden } from '../labels/golden.js';
import { sendExamples } from './batches.js';
import { EL_FORBIDDEN, EL_GOLDEN_EXISTS, EL_NO_GOLDEN_SET } from '../errors.js';

const closed = { additionalProperties: false } as const;
const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse };
const Params = Type.Object({ model: ModelName }, closed);

/** Golden sets carry their inputs, so they may be far larger than an event batch. */
export const GOLDEN_BODY_LIMIT = 64 * 1024 * 1024;

export default async function golden(app: FastifyInstance) {
  app.addContentTypeParser(['application/x-ndjson', 'application/jsonl'], { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.put(
    '/v1/models/:model/golden',
    {
      config: { scope: 'trainer' },
      bodyLimit: GOLDEN_BODY_LIMIT,
      schema: {
        summary: "Set a model's golden set",
        description:
          'Body: NDJSON (`application/x-ndjson`) or JSON (an array or `{ examples }`) of `{ inputHash, input, label }`. ' +
          '201 with the new set; 200 when the same content is already the golden set; 409 `EL_GOLDEN_EXISTS` when another ' +
          'set exists, unless an admin key names it in `?replaces=`.',
        params: Params,
        querystring: Type.Object({ replaces: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }, closed),
        response: { 200: Batch, 201: Batch, ...errors },
      },
    },
    async (request, reply) => {
      const { model } = request.params as { model: string };
      const replaces = (request.query as { replaces?: string }).replaces ?? null;
      if (replaces !== null && request.key?.scope !== 'admin') throw new EL_FORBIDDEN(request.key?.scope ?? 'none', 'admin');
      const content = parseGolden(request.body);
      const result = await app.storage.batches.putGolden(model, content, { id: newId(), now: Date.now(), replaces });
      if (result.status === 'conflict') throw new EL_GOLDEN_EXISTS(model, result.current.id, result.current.id);
      request.log.info({ model, golden: result.batch.id, status: result.status, replaces }, 'golden set');
      return reply.status(result.status === 'created' ? 201 : 200).send(result.batch);
    },
  );

  app.get(
    '/v1/models/:model/golden',
    {
      config: { scope: 'trainer' },
      schema: {
        summary: "A model's golden set as NDJSON",
        description: 'One `{ inputHash, input, label, split: "golden" }` per line; the ETag is the set\'s sha256, `x-edgeloop-batch-id` its id.',
        params: Params,
      },
    },
    async (request, reply) => {
      const { model } = request.params as { model: string };
      const set = await app.storage.batches.golden(model);
      if (!set) throw new EL_NO_GOLDEN_SET(model, model);
      return sendExamples(app.storage.batches, set, request.headers['if-none-match'], reply);
    },
  );
}
