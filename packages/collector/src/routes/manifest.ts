/**
 * `GET /v1/models/:model/manifest?device=[&canary=true]`: the version this device must run, by the shared
 * bucketing, or the live canary for a device that joined it (`canary=true`; the collector decides). It is
 * every device's poll, so it is answered from compiled bytes with a precomputed ETag (rollout/manifest-cache.ts):
 * no database read per request, and `304` when the device already has it.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { getManifest } from '@edgeloop/protocol';
import { etagMatches } from '../etag.js';
import { EL_MODEL_NOT_FOUND } from '../errors.js';
import { routeOf } from './route.js';

export default async function manifest(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.route({
    ...routeOf(getManifest),
    handler: async (request, typedReply) => {
      // The body goes out as compiled bytes, past the typed serializer.
      const reply = typedReply as FastifyReply;
      const { model } = request.params;
      const { device, canary } = request.query;
      const served = await app.manifests.assign(model, device, canary === true);
      if (!served) throw new EL_MODEL_NOT_FOUND(model);
      // Devices must revalidate every poll (a rollout may change at any time); the ETag makes that cheap.
      reply.header('etag', served.etag).header('cache-control', 'private, no-cache');
      if (etagMatches(request.headers['if-none-match'], served.etag)) return reply.code(304).send();
      return reply.type('application/json; charset=utf-8').send(served.body);
    },
  });
}
