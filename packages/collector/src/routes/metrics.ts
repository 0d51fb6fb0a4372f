/**
 * `GET /v1/models/:model/metrics?since=&until=&bucket=` (admin): per version predictions, low-confidence,
 * correction and error rates, latency p50/p95, drift (PSI against stable) and the blind-loop flag, in total and
 * per time bucket. `since`/`until` are ms since epoch (default: the last 24 hours), `bucket` is seconds (default
 * 3600). `GET /v1/models/:model/blind-loop` (trainer) is the blind-loop flag alone, for a publish check.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { getBlindLoop, getMetrics, MAX_METRICS_BUCKETS } from '@edgeloop/protocol';
import { blindLoopReport, metricsReport } from '../rollout/metrics-report.js';
import { EL_INVALID_BODY } from '../errors.js';
import { routeOf } from './route.js';

const DAY_MS = 86_400_000;

export default async function metrics(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.route({
    ...routeOf(getMetrics),
    handler: async (request) => {
      const { model } = request.params;
      const until = request.query.until ?? Date.now() + 1;
      const since = request.query.since ?? until - DAY_MS;
      const bucketMs = request.query.bucket * 1000;
      if (!(since < until)) throw new EL_INVALID_BODY('since must be before until');
      if ((until - since) / bucketMs > MAX_METRICS_BUCKETS)
        throw new EL_INVALID_BODY(`at most ${MAX_METRICS_BUCKETS} buckets: raise bucket or narrow since/until`);
      return metricsReport(app.storage, model, since, until, bucketMs);
    },
  });

  app.route({
    ...routeOf(getBlindLoop),
    handler: async (request) => {
      const { model } = request.params;
      const { minPredictions, maxTopBinShare } = request.query;
      const until = request.query.until ?? Date.now() + 1;
      const since = request.query.since ?? until - DAY_MS;
      if (!(since < until)) throw new EL_INVALID_BODY('since must be before until');
      return blindLoopReport(app.storage, model, since, until, {
        ...(minPredictions !== undefined ? { minPredictions } : {}),
        ...(maxTopBinShare !== undefined ? { maxTopBinShare } : {}),
      });
    },
  });
}
