/**
 * Devices call the collector from any web origin: ingest, manifest and artifact routes answer CORS requests
 * (preflight included) for every origin. Credentials are never sent (keys travel in headers or `?key=`),
 * so a wildcard origin leaks nothing; admin routes need an admin key either way.
 */
import fp from 'fastify-plugin';
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

/** What every CORS answer to a simple request carries (the origin is a wildcard, so it never varies). */
export const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'etag, retry-after',
} as const;

async function corsPlugin(app: FastifyInstance) {
  await app.register(cors, {
    origin: '*',
    methods: ['GET', 'HEAD', 'POST', 'PUT'],
    allowedHeaders: ['authorization', 'content-type', 'content-encoding', 'if-none-match'],
    exposedHeaders: ['etag', 'retry-after'],
    maxAge: 86_400,
    strictPreflight: false,
  });
}

export default fp(corsPlugin, { name: 'edgeloop-cors', fastify: '5.x' });
