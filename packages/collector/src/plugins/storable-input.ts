/**
 * Refuses, with 400 `EL_INVALID_BODY`, a request whose query string is not percent-encoded UTF-8, or whose params,
 * query or JSON body holds a string or number the stores cannot keep as sent (see text.ts). Ingest checks its
 * events one by one instead (a bad event is rejected alone), and the golden and version uploads check what they
 * parse themselves.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { postEvents } from '@edgeloop/protocol';
import { EL_INVALID_BODY } from '../errors.js';
import { malformedQuery, unstorableMessage, unstorablePath } from '../text.js';

/** `part` and the path in it of the first value that cannot be stored, or undefined. */
function at(part: string, value: unknown): string | undefined {
  const where = unstorablePath(value);
  return where === null ? undefined : `${part}${where}`;
}

async function storableInput(app: FastifyInstance) {
  // A callback hook, not an async one: it runs on every request, the manifest poll included.
  app.addHook('preValidation', (request, _reply, done) => {
    const endpoint = request.routeOptions.config.endpoint;
    if (endpoint && malformedQuery(request.url))
      return done(new EL_INVALID_BODY('the query string holds a percent-escape that is not UTF-8: encode it as UTF-8'));
    if (endpoint && endpoint !== postEvents) {
      const where =
        at('params', request.params) ?? at('querystring', request.query) ?? at('body', request.body) ?? null;
      if (where !== null) return done(new EL_INVALID_BODY(unstorableMessage(where)));
    }
    done();
  });
}

export default fp(storableInput, { name: 'edgeloop-storable-input', fastify: '5.x' });
