/**
 * A tiny round-robin proxy in front of the soak's collectors, with the failover a load balancer gives: a request
 * goes to the next collector; one that refuses the connection (killed, not yet restarted) is skipped and the
 * request goes to the other, which is safe because nothing reached the dead one. A collector that dies with the
 * request in flight may or may not have committed it: that request gets a 502 and its client retries (events are
 * idempotent by id). Every answer is recorded: time, route, status, latency, and for `POST /v1/events` the
 * duplicates the collector absorbed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Sample {
  /** ms since the soak started */
  at: number;
  route: 'events' | 'manifest' | 'other';
  status: number;
  ms: number;
  backend: number;
  /** for an acknowledged POST /v1/events: events accepted and those of them already stored */
  accepted?: number;
  duplicates?: number;
}

export interface Proxy {
  url: string;
  samples: Sample[];
  /** requests sent to the other collector because one refused the connection */
  failovers: number;
  close(): Promise<void>;
}

const routeOf = (method: string, url: string): Sample['route'] =>
  method === 'POST' && url.startsWith('/v1/events')
    ? 'events'
    : method === 'GET' && /^\/v1\/models\/[^/]+\/manifest/.test(url)
      ? 'manifest'
      : 'other';

export async function startProxy(backends: () => string[], clock: () => number): Promise<Proxy> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const samples: Sample[] = [];
  let next = 0;
  let failovers = 0;
  const server = http.createServer((req, res) => {
    const started = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const urls = backends();
      const first = next++ % urls.length;
      const route = routeOf(req.method ?? 'GET', req.url ?? '/');
      const record = (status: number, backend: number, extra: Partial<Sample> = {}) =>
        samples.push({ at: clock(), route, status, ms: performance.now() - started, backend, ...extra });
      const attempt = (tried: number) => {
        const backend = (first + tried) % urls.length;
        const target = new URL(req.url ?? '/', urls[backend]);
        const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
        delete headers['transfer-encoding'];
        delete headers.connection;
        let answered = false;
        const up = http.request(target, { method: req.method, headers, agent }, (upRes) => {
          answered = true;
          const out: Buffer[] = [];
          upRes.on('data', (c: Buffer) => out.push(c));
          upRes.on('error', () => fail(backend));
          upRes.on('end', () => {
            const payload = Buffer.concat(out);
            const status = upRes.statusCode ?? 502;
            let extra: Partial<Sample> = {};
            if (route === 'events' && status < 300) {
              try {
                const a = JSON.parse(payload.toString()) as { accepted?: number; duplicates?: number };
                extra = { accepted: a.accepted ?? 0, duplicates: a.duplicates ?? 0 };
              } catch {
                // not JSON: nothing to count
              }
            }
            const h = { ...upRes.headers };
            delete h['transfer-encoding'];
            delete h.connection;
            h['content-length'] = String(payload.length);
            res.writeHead(status, h);
            res.end(payload);
            record(status, backend, extra);
          });
        });
        up.on('error', (err: NodeJS.ErrnoException) => {
          if (answered) return;
          // Refused: the request never reached that collector, so the other one may take it.
          if (err.code === 'ECONNREFUSED' && tried + 1 < urls.length) {
            failovers++;
            attempt(tried + 1);
          } else fail(backend);
        });
        up.setTimeout(60_000, () => up.destroy(new Error('upstream timeout')));
        up.end(body);
      };
      const fail = (backend: number) => {
        if (res.headersSent) return void res.destroy();
        const payload = JSON.stringify({
          statusCode: 502,
          code: 'EL_PROXY_UPSTREAM',
          error: 'Bad Gateway',
          message: 'the collector went away during the request',
        });
        res.writeHead(502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
        res.end(payload);
        record(502, backend);
      };
      attempt(0);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    samples,
    get failovers() {
      return failovers;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}
