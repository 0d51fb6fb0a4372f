/**
 * `POST /v1/events`: durable ingest. Each event is validated on its own (good ones stored, bad ones listed in
 * `rejected`), duplicates by id are accepted but stored once, and the 200 is sent only after the commit, so a
 * device may delete its copy on our ack. Storage down → 503 + Retry-After (the app's error handler).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { MAX_BODY_BYTES, MAX_EVENTS_PER_REQUEST, postEvents } from '@edgeloop/protocol';
import { useJsonBody } from '../ingest/body.js';
import { triageEvents } from '../ingest/triage.js';
import { EL_TOO_MANY_EVENTS } from '../errors.js';
import { routeOf } from './route.js';

export default async function events(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  useJsonBody(app, MAX_BODY_BYTES);

  // Tell the store a write is coming as soon as the headers are in, so a group commit can wait for its body.
  const noop = () => {};
  app.decorateRequest('writeArriving', null);
  const release = (request: FastifyRequest) => {
    request.writeArriving?.();
    request.writeArriving = null;
  };

  app.route({
    ...routeOf(postEvents),
    attachValidation: true,
    onRequest: async (request) => {
      request.writeArriving = app.storage.events.expectWrite?.() ?? noop;
    },
    onResponse: async (request) => release(request),
    onRequestAbort: async (request) => release(request),
    handler: async (request) => {
      release(request);
      if (request.validationError) {
        const first = request.validationError.validation?.[0];
        if (first?.keyword === 'maxItems' && first.instancePath === '/events')
          throw new EL_TOO_MANY_EVENTS(MAX_EVENTS_PER_REQUEST);
        throw request.validationError;
      }
      const { events: items } = request.body;
      const { events, rejected } = triageEvents(items, request.suspectEscapes);
      const metrics = app.prometheus.ingest;
      let duplicates = 0;
      if (events.length > 0) {
        const stop = metrics.commitSeconds.startTimer();
        const result = await app.storage.events.insert(events, Date.now());
        stop();
        duplicates = result.duplicates;
        metrics.events.inc({ outcome: 'stored' }, result.inserted);
        if (duplicates) metrics.events.inc({ outcome: 'duplicate' }, duplicates);
      }
      if (rejected.length) {
        metrics.events.inc({ outcome: 'rejected' }, rejected.length);
        for (const r of rejected) metrics.rejected.inc({ code: r.code });
      }
      request.log.info({ accepted: events.length, duplicates, rejected: rejected.length }, 'events ingested');
      return { accepted: events.length, duplicates, rejected };
    },
  });
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Releases this request's "write on its way" announcement (see `EventStore.expectWrite`). */
    writeArriving: (() => void) | null;
  }
}
