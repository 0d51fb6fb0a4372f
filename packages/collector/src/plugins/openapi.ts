/**
 * The OpenAPI document, generated from the route schemas by @fastify/swagger and served at `GET /openapi.json`
 * without a key. Each operation says which key scope it needs (from the route's `config.scope`).
 * Registered before every route: swagger collects routes as they are added.
 */
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { createRequire } from 'node:module';

// src/plugins and dist/plugins sit at the same depth below package.json.
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

async function openapi(app: FastifyInstance) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'edgeloop collector',
        version,
        description: 'Errors are `{ statusCode, code, error, message }`; the codes are listed in ERRORS.md.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An ingest, trainer or admin key' },
          queryKey: { type: 'apiKey', in: 'query', name: 'key', description: 'Ingest routes only (unload-time sends)' },
        },
      },
    },
    transform: ({ schema, url, route }) => {
      const scope = route.config?.scope ?? 'admin';
      const methods = ([] as string[]).concat(route.method);
      if (methods.every((m) => m === 'HEAD')) return { schema: { ...schema, hide: true }, url };
      if (scope === 'none') return { schema, url };
      const security: Record<string, string[]>[] =
        scope === 'ingest' ? [{ bearer: [] }, { queryKey: [] }] : [{ bearer: [] }];
      const note = `Needs a key with scope "${scope}" or wider (admin ⊃ trainer ⊃ ingest).`;
      const description = schema?.description ? `${schema.description}\n\n${note}` : note;
      return { schema: { ...schema, security, description }, url };
    },
  });
  app.get('/openapi.json', { config: { scope: 'none' }, schema: { hide: true } }, async () => app.swagger());
}

export default fp(openapi, { name: 'edgeloop-openapi', fastify: '5.x' });
