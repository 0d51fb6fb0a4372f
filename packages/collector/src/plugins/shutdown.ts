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
  // Callback hooks, not async ones: they run on every request, the manifest poll included.
  app.addHook('onRequest', (_request, _reply, done) => done(closing ? new EL_SHUTTING_DOWN() : undefined));
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
}

export default fp(shutdown, { name: 'edgeloop-shutdown', fastify: '5.x' });
