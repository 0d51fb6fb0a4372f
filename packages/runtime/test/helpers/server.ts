/**
 * The test app's origin (http://localhost:<port>): serves the built pages, and forwards `/v1/*` to the real
 * collector. Tests can put a fault on the path between the two — answer a status, reset the connection, hang,
 * drop the answer after the collector committed (a lost ack), corrupt a body — and read every request seen.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  | { kind: 'reset' }
  | { kind: 'hang' }
  | { kind: 'lose-ack' }
  | { kind: 'corrupt' }
  | { kind: 'delay'; ms: number };

export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Buffer;
  at: number;
  /** Event ids in a `POST /v1/events` body (empty otherwise). */
  ids: string[];
  /** What happened: the status answered, or the fault applied. */
  outcome: string;
}

export interface AppServer {
  url: string;
  seen: SeenRequest[];
  /** Decides a fault per request (`undefined`: forward normally). */
  fault: ((req: SeenRequest) => Fault | undefined) | null;
  /** Event posts seen so far. */
  eventPosts(): SeenRequest[];
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.css': 'text/css',
};

function idsOf(path: string, method: string, body: Buffer): string[] {
  if (method !== 'POST' || path !== '/v1/events') return [];
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { events?: { id?: unknown }[] };
    return (parsed.events ?? []).map((e) => String(e?.id));
  } catch {
    return [];
  }
}

/**
 * Starts the app server in front of `collectorUrl`, serving files from `root`. `isolated` serves pages
 * cross-origin isolated (COOP/COEP), which gives the page 5 µs timers instead of 100 µs (benchmarks).
 */
export async function startAppServer(
  root: string,
  collectorUrl: string,
  opts: { isolated?: boolean } = {},
): Promise<AppServer> {
  const isolation = opts.isolated
    ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' }
    : {};
  const target = new URL(collectorUrl);
  const hung = new Set<ServerResponse>();
  const app: AppServer = {
    url: '',
    seen: [],
    fault: null,
    eventPosts: () => app.seen.filter((r) => r.method === 'POST' && r.path === '/v1/events'),
    close: async () => {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  async function serveFile(path: string, res: ServerResponse): Promise<void> {
    const rel = normalize(path === '/' ? '/index.html' : path).replace(/^(\.\.[/\\])+/, '');
    try {
      const bytes = await readFile(join(root, rel));
      res.writeHead(200, {
        'content-type': TYPES[extname(rel)] ?? 'application/octet-stream',
        'cache-control': 'no-store',
        ...isolation,
      });
      res.end(bytes);
    } catch {
      res.writeHead(404).end('not found');
    }
  }

  function forward(seen: SeenRequest, req: IncomingMessage, res: ServerResponse, after: Fault | undefined): void {
    const headers = { ...req.headers, host: target.host };
    delete headers['content-length'];
    const up = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...headers, 'content-length': String(seen.body.length) },
      },
      (upRes) => {
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => chunks.push(c));
        upRes.on('end', () => {
          let body = Buffer.concat(chunks);
          if (after?.kind === 'lose-ack') {
            // The collector has committed; the client never learns it.
            seen.outcome = `lost ack (${upRes.statusCode})`;
            res.destroy();
            return;
          }
          if (after?.kind === 'corrupt' && body.length > 0) {
            body = Buffer.from(body);
            body[body.length >> 1] = body[body.length >> 1]! ^ 0xff;
            seen.outcome = `corrupted ${upRes.statusCode}`;
          } else seen.outcome = String(upRes.statusCode);
          const h = { ...upRes.headers };
          delete h['content-length'];
          delete h['transfer-encoding'];
          res.writeHead(upRes.statusCode ?? 502, { ...h, 'content-length': String(body.length) });
          res.end(body);
        });
      },
    );
    up.on('error', () => {
      seen.outcome = 'collector unreachable';
      res.destroy();
    });
    up.end(seen.body);
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/v1/')) {
      void serveFile(url.pathname, res);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const seen: SeenRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
        at: Date.now(),
        ids: idsOf(url.pathname, req.method ?? 'GET', body),
        outcome: '',
      };
      app.seen.push(seen);
      const fault = app.fault?.(seen);
      if (fault?.kind === 'status') {
        seen.outcome = `fault ${fault.status}`;
        res.writeHead(fault.status, { 'content-type': 'application/json', ...(fault.headers ?? {}) });
        res.end(
          fault.body ??
            JSON.stringify({
              statusCode: fault.status,
              code: 'EL_TEST_FAULT',
              error: 'fault',
              message: 'injected by the test',
            }),
        );
      } else if (fault?.kind === 'reset') {
        seen.outcome = 'reset';
        res.destroy();
      } else if (fault?.kind === 'hang') {
        seen.outcome = 'hang';
        hung.add(res);
      } else if (fault?.kind === 'delay') setTimeout(() => forward(seen, req, res, undefined), fault.ms);
      else forward(seen, req, res, fault);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  app.url = `http://localhost:${(server.address() as AddressInfo).port}`;
  return app;
}
