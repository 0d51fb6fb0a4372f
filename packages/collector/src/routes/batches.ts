/**
 * Labeled batches: `POST /v1/models/:model/batches` freezes everything labeled since the model's last batch,
 * `GET /v1/models/:model/labels/pending` is that freeze's dry run (what it would produce now), `GET` lists them,
 * `GET /v1/batches/:id/examples` streams one as NDJSON (its sha256 is the sha256 of that body, sent as the ETag),
 * and `GET /v1/batches/:id/lineage` names the events it came from.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  getBatch,
  getBatchExamples,
  getBatchLineage,
  getPendingLabels,
  listBatches,
  newId,
  postBatch,
  type Batch,
} from '@edgeloop/protocol';
import { exampleStream } from '../labels/export.js';
import type { BatchStore } from '../labels/store.js';
import { etagMatches } from '../etag.js';
import { EL_EMPTY_BATCH, EL_NOT_FOUND } from '../errors.js';
import { routeOf } from './route.js';

/** Sends a batch's NDJSON export with its sha256 as a strong ETag (304 when the client already has it). */
export async function sendExamples(
  batches: BatchStore,
  batch: Batch,
  ifNoneMatch: string | undefined,
  reply: FastifyReply,
) {
  const etag = `"${batch.sha256}"`;
  reply
    .header('etag', etag)
    .header('cache-control', 'private, max-age=31536000, immutable')
    .header('x-edgeloop-batch-id', batch.id);
  if (etagMatches(ifNoneMatch, etag)) return reply.status(304).send();
  return reply.type('application/x-ndjson; charset=utf-8').send(exampleStream(batches, batch.id));
}

export default async function batches(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.route({
    ...routeOf(postBatch),
    handler: async (request, reply) => {
      const { model } = request.params;
      const { maxLabelsPerDevice } = request.query;
      const result = await app.storage.batches.freeze(model, { id: newId(), now: Date.now(), maxLabelsPerDevice });
      if (!result.batch) {
        request.log.info({ model, counts: result.counts }, 'nothing to freeze');
        throw new EL_EMPTY_BATCH(model);
      }
      request.log.info({ model, batch: result.batch.id, counts: result.batch.counts }, 'batch frozen');
      return reply.status(201).send(result.batch);
    },
  });

  app.route({
    ...routeOf(getPendingLabels),
    handler: async (request) => {
      const { model } = request.params;
      const { counts, lastBatch } = await app.storage.batches.preview(model, {
        maxLabelsPerDevice: request.query.maxLabelsPerDevice,
      });
      return {
        model,
        pending: counts.examples,
        counts,
        since: lastBatch?.createdAt ?? null,
        lastBatch: lastBatch?.id ?? null,
      };
    },
  });

  app.route({ ...routeOf(listBatches), handler: async (request) => app.storage.batches.list(request.params.model) });

  async function found(id: string): Promise<Batch> {
    const batch = await app.storage.batches.get(id);
    if (!batch) throw new EL_NOT_FOUND(`Batch "${id}"`);
    return batch;
  }

  app.route({ ...routeOf(getBatch), handler: async (request) => found(request.params.id) });

  app.route({
    ...routeOf(getBatchExamples),
    handler: async (request, reply) =>
      sendExamples(
        app.storage.batches,
        await found(request.params.id),
        request.headers['if-none-match'],
        reply as FastifyReply,
      ),
  });

  app.route({
    ...routeOf(getBatchLineage),
    handler: async (request) => {
      const batch = await found(request.params.id);
      return { batch, sources: await app.storage.batches.lineage(batch.id) };
    },
  });
}
