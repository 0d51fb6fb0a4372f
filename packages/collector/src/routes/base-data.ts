/**
 * Base data (for the trainer's replay): per model, its training set or a sample of it, uploaded once and stored as
 * an immutable set like the golden set. `PUT /v1/models/:model/base-data` makes the upload the model's base data
 * (the same content again is a no-op; a set it replaces stays stored for lineage); `GET` streams it as NDJSON with
 * split 'train'. Unlike the golden set, base data does not keep its inputs out of batches: it is trained on.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { getBaseData, GOLDEN_BODY_LIMIT, newId, putBaseData } from '@edgeloop/protocol';
import { parseGolden } from '../labels/golden.js';
import { sendExamples } from './batches.js';
import { EL_NO_BASE_DATA } from '../errors.js';
import { routeOf } from './route.js';

export default async function baseData(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.addContentTypeParser(
    ['application/x-ndjson', 'application/jsonl'],
    { parseAs: 'string' },
    (_request, body, done) => done(null, body),
  );

  app.route({
    ...routeOf(putBaseData),
    bodyLimit: GOLDEN_BODY_LIMIT,
    handler: async (request, reply) => {
      const { model } = request.params;
      const content = parseGolden(request.body, 'train');
      const result = await app.storage.batches.putBaseData(model, content, { id: newId(), now: Date.now() });
      request.log.info({ model, baseData: result.batch.id, status: result.status }, 'base data');
      return reply.status(result.status === 'created' ? 201 : 200).send(result.batch);
    },
  });

  app.route({
    ...routeOf(getBaseData),
    handler: async (request, reply) => {
      const { model } = request.params;
      const set = await app.storage.batches.baseData(model);
      if (!set) throw new EL_NO_BASE_DATA(model, model);
      return sendExamples(app.storage.batches, set, request.headers['if-none-match'], reply as FastifyReply);
    },
  });
}
