/**
 * `GET /v1/artifacts/:sha256`: immutable, content-addressed bytes. The address is the hash, so a response can be
 * cached forever and a conditional request needs no lookup.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { getArtifact } from '@edgeloop/protocol';
import { EL_NOT_FOUND } from '../errors.js';
import { etagMatches } from '../etag.js';
import { routeOf } from './route.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';

export default async function artifacts(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.route({
    ...routeOf(getArtifact),
    handler: async (request, typedReply) => {
      const reply = typedReply as FastifyReply;
      const { sha256 } = request.params;
      const etag = `"${sha256}"`;
      if (etagMatches(request.headers['if-none-match'], etag))
        return reply.code(304).header('cache-control', IMMUTABLE).header('etag', etag).send();
      const bytes = await app.blobs.get(sha256);
      if (!bytes) throw new EL_NOT_FOUND(`Artifact ${sha256}`);
      reply.header('cache-control', IMMUTABLE).header('etag', etag);
      return reply.type('application/octet-stream').send(bytes);
    },
  });
}
