/**
 * Labeled batches: `POST /v1/models/:model/batches` freezes everything labeled since the model's last batch,
 * `GET /v1/models/:model/labels/pending` is that freeze's dry run (what it would produce now), `GET` lists them, `GET /v1/batches/:id/examples` streams one as NDJSON (its sha256 is the sha256 of that
 * body, sent as the ETag), and `GET /v1/batches/:id/lineage` names the events it came from.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import Type from 'typebox';
import { Batch, BatchCounts, ErrorResponse, ModelName, newId } from '@edgeloop/protocol';
import { DEFAULT_MAX_LABELS_PER_DEVICE } from '../labels/resolver.js';
import { exampleStream } from '../labels/export.js';
import type { BatchStore } from '../labels/store.js';
import { etagMatches } from '../etag.js';
import { EL_EMPTY_BATCH, EL_NOT_FOUND } from '../errors.js';

const closed = { additionalProperties: false } as const;
const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse };
const BatchId = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, closed);

const MaxLabelsPerDevice = Type.Object(
  { maxLabelsPerDevice: Type.Integer({ minimum: 1, maximum: 1_000_000, default: DEFAULT_MAX_LABELS_PER_DEVICE }) },
  closed,
);

const PendingLabels = Type.Object(
  {
    model: ModelName,
    pending: Type.Integer({ minimum: 0, description: 'Examples a freeze now would produce (`counts.examples`).' }),
    counts: BatchCounts,
    since: Type.Union([Type.Integer(), Type.Null()], { description: "`createdAt` of the model's latest batch; null before the first." }),
    lastBatch: Type.Union([Type.String(), Type.Null()], { description: "Id of the model's latest batch; null before the first." }),
  },
  closed,
);

const Lineage = Type.Object(
  {
    batch: Batch,
    sources: Type.Array(
      Type.Object({ eventId: Type.String(), kind: Type.String(), inputHash: Type.String(), role: Type.String() }, closed),
    ),
  },
  closed,
);

/** Sends a batch's NDJSON export with its sha256 as a strong ETag (304 when the client already has it). */
export async function sendExamples(batches: BatchStore, batch: Batch, ifNoneMatch: string | undefined, reply: FastifyReply) {
  const etag = `"${batch.sha256}"`;
  reply.header('etag', etag).header('cache-control', 'private, max-age=31536000, immutable').header('x-edgeloop-batch-id', batch.id);
  if (etagMatches(ifNoneMatch, etag)) return reply.status(304).send();
  return reply.type('application/x-ndjson; charset=utf-8').send(exampleStream(batches, batch.id));
}

export default async function batches(app: FastifyInstance) {
  app.post(
    '/v1/models/:model/batches',
    {
      config: { scope: 'trainer' },
      schema: {
        summary: 'Freeze a labeled batch',
        description:
          'Resolves every label received since the last batch (reviewer label first, else the most-voted label of corrections, ' +
          'ties for first place to the review queue, at most `maxLabelsPerDevice` votes per device) into an immutable batch. ' +
          '409 `EL_EMPTY_BATCH` when nothing trainable was labeled.',
        params: Type.Object({ model: ModelName }, closed),
        querystring: MaxLabelsPerDevice,
        response: { 201: Batch, ...errors },
      },
    },
    async (request, reply) => {
      const { model } = request.params as { model: string };
      const { maxLabelsPerDevice } = request.query as { maxLabelsPerDevice: number };
      const result = await app.storage.batches.freeze(model, { id: newId(), now: Date.now(), maxLabelsPerDevice });
      if (!result.batch) {
        request.log.info({ model, counts: result.counts }, 'nothing to freeze');
        throw new EL_EMPTY_BATCH(model);
      }
      request.log.info({ model, batch: result.batch.id, counts: result.batch.counts }, 'batch frozen');
      return reply.status(201).send(result.batch);
    },
  );

  app.get(
    '/v1/models/:model/labels/pending',
    {
      config: { scope: 'trainer' },
      schema: {
        summary: 'What a freeze would produce now (its dry run)',
        description:
          'Runs the freeze\'s own reads and label resolution on one snapshot and writes nothing: `pending` is the number of ' +
          'examples `POST /v1/models/:model/batches` with the same `maxLabelsPerDevice` would freeze now, and `counts` the rest ' +
          'of that batch\'s counts (ties it would send to review, capped votes, inputs without bytes, golden inputs left out). ' +
          'Its cost grows with the model\'s corrections, not with what is pending. Measured on 1,000,000 stored events ' +
          '(200,000 corrections of 80,000 inputs, all frozen already) on 2 shared cores: 0.9 s on SQLite, where it holds ' +
          'the event loop, and 1.4 CPU-seconds on PostgreSQL (collector and database together; 0.9 to 1.7 s). ' +
          'Poll every 30 s or slower.',
        params: Type.Object({ model: ModelName }, closed),
        querystring: MaxLabelsPerDevice,
        response: { 200: PendingLabels, ...errors },
      },
    },
    async (request) => {
      const { model } = request.params as { model: string };
      const { maxLabelsPerDevice } = request.query as { maxLabelsPerDevice: number };
      const { counts, lastBatch } = await app.storage.batches.preview(model, { maxLabelsPerDevice });
      return { model, pending: counts.examples, counts, since: lastBatch?.createdAt ?? null, lastBatch: lastBatch?.id ?? null };
    },
  );

  app.get(
    '/v1/models/:model/batches',
    {
      config: { scope: 'trainer' },
      schema: {
        summary: "A model's labeled batches, oldest first",
        params: Type.Object({ model: ModelName }, closed),
        response: { 200: Type.Array(Batch), ...errors },
      },
    },
    async (request) => app.storage.batches.list((request.params as { model: string }).model),
  );

  async function found(id: string): Promise<Batch> {
    const batch = await app.storage.batches.get(id);
    if (!batch) throw new EL_NOT_FOUND(`Batch "${id}"`);
    return batch;
  }

  app.get(
    '/v1/batches/:id',
    { config: { scope: 'trainer' }, schema: { summary: 'One batch', params: BatchId, response: { 200: Batch, ...errors } } },
    async (request) => found((request.params as { id: string }).id),
  );

  app.get(
    '/v1/batches/:id/examples',
    {
      config: { scope: 'trainer' },
      schema: {
        summary: "A batch's examples as NDJSON",
        description: 'One `{ inputHash, input, label, split }` per line, sorted by inputHash; the sha256 of the body is the batch\'s `sha256` and ETag.',
        params: BatchId,
      },
    },
    async (request, reply) => sendExamples(app.storage.batches, await found((request.params as { id: string }).id), request.headers['if-none-match'], reply),
  );

  app.get(
    '/v1/batches/:id/lineage',
    {
      config: { scope: 'trainer' },
      schema: {
        summary: 'The corrections, reviews and predictions a batch was made from',
        params: BatchId,
        response: { 200: Lineage, ...errors },
      },
    },
    async (request) => {
      const batch = await found((request.params as { id: string }).id);
      return { batch, sources: await app.storage.batches.lineage(batch.id) };
    },
  );
}
