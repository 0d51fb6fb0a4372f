/**
 * The golden set (added for the trainer's gate): per model, a frozen set of must-pass examples that is never
 * trained on. `PUT /v1/models/:model/golden` sets it once (the same content again is a no-op); replacing it
 * takes an admin key naming the set it replaces (`?replaces=<id>`), and the new set gets a new id. `GET`
 * streams it as NDJSON with split 'golden'. Inputs in it are left out of every batch.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { getGolden, GOLDEN_BODY_LIMIT, newId, putGolden } from '@edgeloop/protocol';
import { parseGolden } from '../labels/golden.js';
import { sendExamples } from './batches.js';
import { EL_FORBIDDEN, EL_GOLDEN_EXISTS, EL_NO_GOLDEN_SET } from '../errors.js';
import { routeOf } from './route.js';

export { GOLDEN_BODY_LIMIT };

export default async function golden(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.addContentTypeParser(
    ['application/x-ndjson', 'application/jsonl'],
    { parseAs: 'string' },
    (_request, body, done) => done(null, body),
  );

  app.route({
    ...routeOf(putGolden),
    bodyLimit: GOLDEN_BODY_LIMIT,
    handler: async (request, reply) => {
      const { model } = request.params;
      const replaces = request.query.replaces ?? null;
      if (replaces !== null && request.key?.scope !== 'admin')
        throw new EL_FORBIDDEN(request.key?.scope ?? 'none', 'admin');
      const content = parseGolden(request.body);
      const result = await app.storage.batches.putGolden(model, content, { id: newId(), now: Date.now(), replaces });
      if (result.status === 'conflict') throw new EL_GOLDEN_EXISTS(model, result.current.id, result.current.id);
      request.log.info({ model, golden: result.batch.id, status: result.status, replaces }, 'golden set');
      return reply.status(result.status === 'created' ? 201 : 200).send(result.batch);
    },
  });

  app.route({
    ...routeOf(getGolden),
    handler: async (request, reply) => {
      const { model } = request.params;
      const set = await app.storage.batches.golden(model);
      if (!set) throw new EL_NO_GOLDEN_SET(model, model);
      return sendExamples(app.storage.batches, set, request.headers['if-none-match'], reply as FastifyReply);
    },
  });
}
