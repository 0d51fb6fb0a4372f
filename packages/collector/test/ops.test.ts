import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeGracefully, type App } from '@edgeloop/collector';
import { Writable } from 'node:stream';
import { makeApp, bearer, KEYS, STORE_KINDS } from './helpers/stores.js';
import { predictions, errorEvent } from './helpers/events.js';

for (const kind of STORE_KINDS) {
  describe(`operations (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    before(async () => ({ app, close } = await makeApp(kind)));
    after(() => close());

    test('GET /metrics serves Prometheus text without a key, with ingest counters', async () => {
      await app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { 'content-type': 'application/json', ...bearer(KEYS.ingest) },
        payload: JSON.stringify({ events: [...predictions(4, { model: 'prom' }), { nope: true }] }),
      });
      const r = await app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(r.statusCode, 200);
      assert.match(r.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
      assert.match(r.body, /^edgeloop_ingest_events_total\{outcome="stored"\} 4$/m);
      assert.match(r.body, /^edgeloop_ingest_events_total\{outcome="rejected"\} 1$/m);
      assert.match(r.body, /^edgeloop_ingest_rejected_total\{code="EL_INVALID_EVENT"\} 1$/m);
      assert.match(r.body, /^edgeloop_http_requests_total\{method="POST",route="\/v1\/events",status="200"\} 1$/m);
      assert.match(r.body, /^process_cpu_user_seconds_total /m);
    });

    test('GET /openapi.json is generated from the route schemas and says which key each route needs', async () => {
      const r = await app.inject({ method: 'GET', url: '/openapi.json' });
      assert.equal(r.statusCode, 200);
      const doc = r.json();
      assert.match(doc.openapi, /^3\./);
      const ingest = doc.paths['/v1/events'].post;
      assert.equal(ingest.requestBody.content['application/json'].schema.properties.events.maxItems, 500);
      assert.deepEqual(ingest.security, [{ bearer: [] }, { queryKey: [] }]);
      assert.deepEqual(Object.keys(ingest.responses['200'].content['application/json'].schema.properties).sort(), [
        'accepted',
        'duplicates',
        'rejected',
      ]);
      assert.ok(doc.paths['/healthz'].get, 'probes are documented');
      assert.equal(doc.paths['/healthz'].get.security, undefined, 'probes need no key');
      assert.ok(!JSON.stringify(doc).includes('~kind'), 'no TypeBox internals leak into the document');
    });

    test('an unknown route is a 404 in the error format', async () => {
      const r = await app.inject({ method: 'GET', url: '/nope?key=secret' });
      assert.equal(r.statusCode, 404);
      assert.deepEqual(r.json(), {
        statusCode: 404,
        code: 'EL_NOT_FOUND',
        error: 'Not Found',
        message: 'Route GET /nope not found',
      });
    });
  });
}

describe('rate limits', () => {
  let app: App;
  let close: () => Promise<void>;
  before(async () => ({ app, close } = await makeApp('sqlite', { rateLimit: { max: 3, timeWindowMs: 60_000 } })));
  after(() => close());

  const send = (key: string, ip = '10.0.0.1') =>
    app.inject({
      method: 'POST',
      url: '/v1/events',
      remoteAddress: ip,
      headers: { 'content-type': 'application/json', ...bearer(key) },
      payload: JSON.stringify({ events: [errorEvent()] }),
    });

  test('a key and IP over budget get 429 with Retry-After; other keys, IPs and probes are not affected', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await send(KEYS.ingest)).statusCode, 200);
    const limited = await send(KEYS.ingest);
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().code, 'EL_RATE_LIMITED');
    const after = Number(limited.headers['retry-after']);
    assert.ok(Number.isInteger(after) && after >= 1 && after <= 60, `Retry-After ${limited.headers['retry-after']}`);
    assert.equal((await send(KEYS.trainer)).statusCode, 200, 'another key from the same IP');
    assert.equal((await send(KEYS.ingest, '10.0.0.2')).statusCode, 200, 'the same key from another IP');
    for (let i = 0; i < 5; i++)
      assert.equal((await app.inject({ method: 'GET', url: '/healthz', remoteAddress: '10.0.0.1' })).statusCode, 200);
  });
});

describe('graceful shutdown', () => {
  test('a request in flight when close starts finishes with 200; new requests get 503 or a refused connection', async () => {
    const { app, store } = await makeApp('sqlite');
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    // A second listener on the same request handler stands for a keep-alive connection that is still open
    // when the close starts (Node closes idle ones at once, so this path is otherwise hard to reach on purpose).
    const side = createServer(app.routing);
    await new Promise<void>((r) => side.listen(0, '127.0.0.1', r));
    const sidePort = (side.address() as AddressInfo).port;

    const post = (toPort: number, payload: string, hold = false) => {
      let finish = () => {};
      const response = new Promise<{ status: number; body: string; headers: Record<string, unknown> }>(
        (resolve, reject) => {
          const req = httpRequest(
            {
              host: '127.0.0.1',
              port: toPort,
              method: 'POST',
              path: '/v1/events',
              headers: {
                'content-type': 'application/json',
                'content-length': Buffer.byteLength(payload),
                ...bearer(KEYS.ingest),
              },
            },
            (res) => {
              let text = '';
              res.on('data', (c) => (text += c));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
            },
          );
          req.on('error', reject);
          if (hold) {
            req.write(payload.slice(0, 10));
            finish = () => req.end(payload.slice(10));
          } else req.end(payload);
        },
      );
      return { response, finish: () => finish() };
    };

    const received = new Promise((r) => app.server.once('request', r));
    const inFlight = post(port, JSON.stringify({ events: predictions(3, { model: 'drain' }) }), true);
    await received; // its headers are in; its body is still arriving
    const closing = closeGracefully(app, 10_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(app.closing, true);

    const late = await post(sidePort, JSON.stringify({ events: predictions(1, { model: 'drain' }) })).response;
    assert.equal(late.status, 503);
    assert.equal(JSON.parse(late.body).code, 'EL_SHUTTING_DOWN');
    assert.equal(late.headers['retry-after'], '5');
    assert.equal(late.headers.connection, 'close');
    await assert.rejects(post(port, '{"events":[]}').response, /ECONNREFUSED/, 'no new connections');

    inFlight.finish();
    const done = await inFlight.response;
    assert.equal(done.status, 200, done.body);
    assert.equal(done.headers.connection, 'close');
    await closing;
    await new Promise((r) => side.close(r));

    const reopened = store.open();
    await reopened.migrate();
    assert.equal(
      await reopened.events.count({ model: 'drain' }),
      3,
      'the in-flight events were stored, the refused one was not',
    );
    await reopened.close();
    await store.destroy();
  });
});

describe('structured logs', () => {
  test('one JSON line per request with the ingest counts; keys never reach the log', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const { app, close } = await makeApp('sqlite', { logger: { level: 'info', stream } });
    try {
      await app.inject({
        method: 'POST',
        url: `/v1/events?key=${KEYS.ingest}`,
        headers: { 'content-type': 'text/plain' },
        payload: JSON.stringify({ events: predictions(2) }),
      });
      await app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { 'content-type': 'application/json', ...bearer(KEYS.trainer) },
        payload: '{"events":[]}',
      });
    } finally {
      await close();
    }
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const ingested = records.filter((r) => r.msg === 'events ingested');
    assert.equal(ingested.length, 2);
    assert.equal(ingested[0]!.accepted, 2);
    assert.ok(ingested[0]!.reqId, 'each line carries the request id');
    const incoming = records.find((r) => r.msg === 'incoming request') as { req: { url: string } } | undefined;
    assert.equal(incoming?.req.url, '/v1/events?key=[redacted]');
    const text = lines.join('\n');
    for (const key of Object.values(KEYS)) assert.ok(!text.includes(key), 'a key was logged');
  });
});

describe('drain timeout', () => {
  test('a request that never finishes is cut off after drainTimeoutMs and the app still closes', async () => {
    const { app, store } = await makeApp('sqlite');
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const received = new Promise((r) => app.server.once('request', r));
    const stuck = new Promise<string>((resolve) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v1/events',
          headers: { 'content-type': 'application/json', 'content-length': 1000, ...bearer(KEYS.ingest) },
        },
        () => resolve('answered'),
      );
      req.on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? err.message));
      req.write('{"events":');
    });
    await received;
    await closeGracefully(app, 100);
    assert.equal(await stuck, 'ECONNRESET');
    await store.destroy();
  });
});
