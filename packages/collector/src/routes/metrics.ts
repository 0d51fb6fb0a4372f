/**
 * `GET /v1/models/:model/metrics?since=&until=&bucket=` (admin): per version predictions, low-confidence,
 * correction and error rates, latency p50/p95 and drift (PSI against stable), in total and per time bucket.
 * `since`/`until` are ms since epoch (default: the last 24 hours), `bucket` is seconds (default 3600).
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ErrorResponse, ModelName, Timestamp, VersionName } from '@edgeloop/protocol';
import { metricsReport } from '../rollout/metrics-report.js';
import { EL_INVALID_BODY } from '../errors.js';

const MAX_BUCKETS = 2000;
const DAY_MS = 86_400_000;

const Rate = Type.Union([Type.Number(), Type.Null()]);
const Drift = Type.Object({ label: Rate, confidence: Rate });
const figures = {
  predictions: Type.Integer(),
  lowConfidence: Type.Integer(),
  corrections: Type.Integer(),
  errors: Type.Integer(),
  lowConfidenceRate: Rate,
  correctionRate: Rate,
  errorRate: Rate,
  latencyMs: Type.Object({ p50: Rate, p95: Rate }),
  drift: Drift,
};
const VersionReport = Type.Object({
  version: VersionName,
  channel: Type.Union([Type.Literal('stable'), Type.Literal('canary'), Type.Null()]),
  ...figures,
  confidenceHist: Type.Array(Type.Integer()),
  labelCounts: Type.Record(Type.String(), Type.Integer()),
  series: Type.Array(Type.Object({ from: Type.Integer(), to: Type.Integer(), ...figures })),
});
const MetricsReport = Type.Object({
  model: ModelName,
  since: Type.Integer(),
  until: Type.Integer(),
  bucketSec: Type.Number(),
  stable: Type.Union([VersionName, Type.Null()]),
  canary: Type.Union([VersionName, Type.Null()]),
  canaryPercent: Type.Number(),
  reference: Type.Union([VersionName, Type.Null()]),
  versions: Type.Array(VersionReport),
});

export default async function metrics(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/v1/models/:model/metrics',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Per-version counts, rates, latency and drift, in total and per time bucket',
        params: Type.Object({ model: ModelName }),
        querystring: Type.Object({
          since: Type.Optional(Timestamp),
          until: Type.Optional(Timestamp),
          bucket: Type.Integer({ minimum: 1, maximum: 31 * 86_400, default: 3600 }),
        }),
        response: { 200: MetricsReport, 400: ErrorResponse },
      },
    },
    async (request) => {
      const { model } = request.params;
      const until = request.query.until ?? Date.now() + 1;
      const since = request.query.since ?? until - DAY_MS;
      const bucketMs = request.query.bucket * 1000;
      if (!(since < until)) throw new EL_INVALID_BODY('since must be before until');
      if ((until - since) / bucketMs > MAX_BUCKETS) throw new EL_INVALID_BODY(`at most ${MAX_BUCKETS} buckets: raise bucket or narrow since/until`);
      return metricsReport(app.storage, model, since, until, bucketMs);
    },
  );
}
