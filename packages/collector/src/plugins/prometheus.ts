/**
 * Prometheus metrics at `GET /metrics` (no key: scrapers rarely carry secrets, and nothing here is private).
 * Each app has its own registry so tests can build many apps; process metrics are collected once per process.
 * Other plugins register their own collectors on `app.prometheus.registry`.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export interface IngestMetrics {
  events: Counter<'outcome'>;
  rejected: Counter<'code'>;
  commitSeconds: Histogram;
}

export interface Prometheus {
  registry: Registry;
  ingest: IngestMetrics;
  /** Counts one answered request and its time (what every response does; the manifest fast path calls it itself). */
  record(method: string, route: string, status: number, seconds: number): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    prometheus: Prometheus;
  }
}

let processRegistry: Registry | undefined;

function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

async function prometheus(app: FastifyInstance) {
  const registry = new Registry();
  const requests = new Counter({
    name: 'edgeloop_http_requests_total',
    help: 'HTTP requests answered, by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'edgeloop_http_request_duration_seconds',
    help: 'Time from request received to response sent',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const ingest: IngestMetrics = {
    events: new Counter({
      name: 'edgeloop_ingest_events_total',
      help: 'Events received by POST /v1/events, by outcome (stored, duplicate, rejected)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'edgeloop_ingest_rejected_total',
      help: 'Events rejected by POST /v1/events, by code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    commitSeconds: new Histogram({
      name: 'edgeloop_ingest_commit_seconds',
      help: 'Time an ingest request waited for its events to be committed',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [registry],
    }),
  };
  // Label children are cached: resolving labels hashes them on every call, which shows on the manifest hot path.
  const counters = new Map<string, { inc(): void }>();
  const timers = new Map<string, { observe(v: number): void }>();
  const record = (method: string, route: string, status: number, seconds: number) => {
    const key = `${method} ${route}`;
    let timer = timers.get(key);
    if (!timer) timers.set(key, (timer = duration.labels(method, route)));
    timer.observe(seconds);
    let counter = counters.get(`${key} ${status}`);
    if (!counter) counters.set(`${key} ${status}`, (counter = requests.labels(method, route, String(status))));
    counter.inc();
  };
  app.decorate('prometheus', { registry, ingest, record });
  app.addHook('onResponse', (request, reply, done) => {
    record(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  app.get(
    '/metrics',
    { config: { scope: 'none', rateLimit: false }, schema: { hide: true } },
    async (_request, reply) => {
      const text = (await processMetrics().metrics()) + (await registry.metrics());
      return reply.type(registry.contentType).send(text);
    },
  );
}

export default fp(prometheus, { name: 'edgeloop-prometheus', fastify: '5.x' });
