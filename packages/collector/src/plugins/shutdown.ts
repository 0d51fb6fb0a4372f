/**
 * Graceful shutdown, the part inside the app: once `close()` starts, new requests get 503 with Retry-After
 * (in our error format, unlike Fastify's built-in fast path) and every response closes its connection, so
 * keep-alive clients move to another instance while in-flight requests finish. `server.ts` bounds the drain.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { EL_SHUTTING_DOWN } from '../errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** True from the moment `close()` starts. */
    readonly closing: boolean;
  }
}

async function shutdown(app: FastifyInstance) {
  let closing = false;
  app.decorate('closing', { getter: () => closing });
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async () => {
    if (closing) throw new EL_SHUTTING_DOWN();
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
}

export default fp(shutdown, { name: 'edgeloop-shutdown', fastify: '5.x' });
