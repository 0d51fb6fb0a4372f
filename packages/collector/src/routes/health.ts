/** Liveness and readiness probes; Prometheus `/metrics` lives in its own plugin. */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';

export default async function health(app: FastifyInstance) {
  app.get('/healthz', { config: { scope: 'none' }, schema: { response: { 200: Type.Object({ ok: Type.Boolean() }) } } }, async () => ({ ok: true }));
  app.get(
    '/readyz',
    { config: { scope: 'none' }, schema: { response: { 200: Type.Object({ ok: Type.Boolean(), storage: Type.String() }) } } },
    async () => {
      await app.storage.ping();
      return { ok: true, storage: app.storage.kind };
    },
  );
}
