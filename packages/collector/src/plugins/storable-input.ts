/**
 * Refuses, with 400 `EL_INVALID_BODY`, a request whose params, query or JSON body holds a string the stores
 * cannot keep as sent (see text.ts). Ingest checks its events one by one instead (a bad event is rejected
 * alone), and the golden and version uploads check what they parse themselves.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { postEvents } from '@edgeloop/protocol';
import { EL_INVALID_BODY } from '../errors.js';
import { unstorableMessage, unstorablePath } from '../text.js';

async function storableInput(app: FastifyInstance) {
  app.addHook('preValidation', async (request) => {
    const endpoint = request.routeOptions.config.endpoint;
    if (!endpoint || endpoint === postEvents) return;
    for (const [part, value] of [
      ['params', request.params],
      ['querystring', request.query],
      ['body', request.body],
    ] as const) {
      const where = unstorablePath(value);
      if (where !== null) throw new EL_INVALID_BODY(unstorableMessage(`${part}${where}`));
    }
  });
}

export default fp(storableInput, { name: 'edgeloop-storable-input', fastify: '5.x' });
