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

async function storableInput(app: FastifyInstance) {
  // A callback hook, not an async one: it runs on every request, the manifest poll included.
  app.addHook('preValidation', (request, _reply, done) => {
    const endpoint = request.routeOptions.config.endpoint;
    if (endpoint && malformedQuery(request.url))
      return done(new EL_INVALID_BODY('the query string holds a percent-escape that is not UTF-8: encode it as UTF-8'));
    if (endpoint && endpoint !== postEvents) {
      for (const [part, value] of [
        ['params', request.params],
        ['querystring', request.query],
        ['body', request.body],
      ] as const) {
        const where = unstorablePath(value);
        if (where !== null) return done(new EL_INVALID_BODY(unstorableMessage(`${part}${where}`)));
      }
    }
    done();
  });
}

export default fp(storableInput, { name: 'edgeloop-storable-input', fastify: '5.x' });
