/**
 * `GET /v1/artifacts/:sha256`: immutable, content-addressed bytes. The address is the hash, so a response can be
 * cached forever and a conditional request needs no lookup.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ErrorResponse, Sha256Hex } from '@edgeloop/protocol';
import { EL_NOT_FOUND } from '../errors.js';
import { etagMatches } from '../etag.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';

export default async function artifacts(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/v1/artifacts/:sha256',
    {
      config: { scope: 'ingest' },
      schema: {
        summary: 'Artifact bytes by sha256 (immutable)',
        params: Type.Object({ sha256: Sha256Hex }),
        response: { 200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }), 304: Type.Null(), 404: ErrorResponse },
      },
    },
    async (request, typedReply) => {
      const reply = typedReply as FastifyReply;
      const { sha256 } = request.params;
      const etag = `"${sha256}"`;
      if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).header('cache-control', IMMUTABLE).header('etag', etag).send();
      const bytes = await app.blobs.get(sha256);
      if (!bytes) throw new EL_NOT_FOUND(`Artifact ${sha256}`);
      reply.header('cache-control', IMMUTABLE).header('etag', etag);
      return reply.type('application/octet-stream').send(bytes);
    },
  );
}
