// The manifest poll's fast path (rollout/fast-path.ts) answers before Fastify's pipeline. Every request below is
// sent both ways — over HTTP, where the fast path may answer, and through inject(), which always runs the pipeline —
// and the answers must be the same. The common polls must really take the fast path (no hook sees them), and it
// must count in the same rate budget and Prometheus series as the route.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '@edgeloop/collector';
import { KEYS, bearer, makeApp, STORE_KINDS } from './helpers/stores.js';
import { publish } from './helpers/release.js';

/** What a device can see of an answer (Date and keep-alive headers aside). */
const SEEN = [
  'etag',
  'cache-control',
  'content-type',
  'content-length',
  'access-control-allow-origin',
  'access-control-expose-headers',
  'retry-after',
];

interface Answer {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
}

function seen(status: number, get: (name: string) => string | undefined, body: string): Answer {
  return { status, headers: Object.fromEntries(SEEN.map((h) => [h, get(h)])), body };
}

for (const kind of STORE_KINDS) {
  describe(`manifest fast path (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    let base: string;
    /** Requests that reached Fastify's hooks (the fast path answers before them). */
    let piped = 0;
    let etag1 = '';

    const viaHttp = async (url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> => {
      const r = await fetch(`${base}${url}`, { method, headers });
      return seen(r.status, (h) => r.headers.get(h) ?? undefined, await r.text());
    };
    const viaPipeline = async (url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> => {
      const r = await app.inject({ method: method as 'GET', url, headers });
      return seen(r.statusCode, (h) => (r.headers[h] === undefined ? undefined : String(r.headers[h])), r.body);
    };
    /** Sends a request both ways; returns whether the HTTP one took the fast path. */
    const same = async (url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<boolean> => {
      const before = piped;
      const fast = await viaHttp(url, headers, method);
      const tookFastPath = piped === before;
      assert.deepEqual(fast, await viaPipeline(url, headers, method), `${method} ${url} ${JSON.stringify(headers)}`);
      return tookFastPath;
    };

    before(async () => {
      ({ app, close } = await makeApp(kind, { pollAfterSec: 30 }));
      app.addHook('onRequest', (_request, _reply, done) => {
        piped++;
        done();
      });
      assert.equal((await publish(app, 'digits', 'v1')).statusCode, 201);
      assert.equal((await publish(app, 'digits', 'v2', { parent: 'v1' })).statusCode, 201);
      const put = await app.inject({
        method: 'PUT',
        url: '/v1/models/digits/rollout',
        headers: bearer(KEYS.admin),
        payload: { stable: 'v1', canary: 'v2', canaryPercent: 10 },
      });
      assert.equal(put.statusCode, 200);
      await app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      // The first poll fills the key and manifest caches through the pipeline.
      const first = await viaHttp('/v1/models/digits/manifest?device=device-1', bearer(KEYS.ingest));
      etag1 = first.headers.etag!;
    });
    after(() => close());

    test('common polls take the fast path and answer as the route does: 200, 304, canary opt-in, ?key=', async () => {
      const ingest = bearer(KEYS.ingest);
      const polls: [string, Record<string, string>][] = [
        ['/v1/models/digits/manifest?device=device-1', ingest],
        ['/v1/models/digits/manifest?device=device-1', { ...ingest, 'if-none-match': etag1 }],
        ['/v1/models/digits/manifest?device=device-1', { ...ingest, 'if-none-match': `W/${etag1}` }],
        ['/v1/models/digits/manifest?device=device-1', { ...ingest, 'if-none-match': `"x", ${etag1}` }],
        ['/v1/models/digits/manifest?device=device-1', { ...ingest, 'if-none-match': '"other"' }],
        ['/v1/models/digits/manifest?device=device-1&canary=true', ingest],
        ['/v1/models/digits/manifest?canary=false&device=device-1', ingest],
        [`/v1/models/digits/manifest?device=device-1&key=${KEYS.ingest}`, {}],
        [`/v1/models/digits/manifest?device=device-1&key=${KEYS.ingest}`, ingest],
        ['/v1/models/digits/manifest?device=a!~z.:_-', ingest],
      ];
      for (let d = 0; d < 40; d++) polls.push([`/v1/models/digits/manifest?device=device-${d}`, ingest]);
      for (const [url, headers] of polls) assert.ok(await same(url, headers), `not on the fast path: ${url}`);
      // Both channels were served on it.
      const channels = new Set<string>();
      for (let d = 0; d < 40; d++)
        channels.add(
          (
            JSON.parse((await viaHttp(`/v1/models/digits/manifest?device=device-${d}`, ingest)).body) as {
              channel: string;
            }
          ).channel,
        );
      assert.deepEqual([...channels].sort(), ['canary', 'stable']);
    });

    test('everything else goes through the pipeline, with the same answer', async () => {
      const ingest = bearer(KEYS.ingest);
      const others: [string, Record<string, string>, string?][] = [
        ['/v1/models/digits/manifest?device=device-1', ingest, 'HEAD'],
        ['/v1/models/digits/manifest?device=device-1', {}],
        ['/v1/models/digits/manifest?device=device-1', bearer('not-a-key-0123456789abcdef0123')],
        ['/v1/models/digits/manifest?device=device-1', { authorization: `Basic ${KEYS.ingest}` }],
        ['/v1/models/digits/manifest?device=device-1&key=other-key-0123456789abcdef', ingest],
        ['/v1/models/digits/manifest?device=device-1&key=', ingest],
        ['/v1/models/digits/manifest', ingest],
        ['/v1/models/digits/manifest?', ingest],
        ['/v1/models/digits/manifest?device=', ingest],
        [`/v1/models/digits/manifest?device=${'d'.repeat(129)}`, ingest],
        ['/v1/models/digits/manifest?device=a%20b', ingest],
        ['/v1/models/digits/manifest?device=a%21b', ingest],
        ['/v1/models/digits/manifest?device=a+b', ingest],
        ['/v1/models/digits/manifest?device=device-1&device=device-2', ingest],
        ['/v1/models/digits/manifest?device=device-1&other=1', ingest],
        ['/v1/models/digits/manifest?device=device-1&canary=1', ingest],
        ['/v1/models/digits/manifest?device=device-1&canary=yes', ingest],
        ['/v1/models/digits/manifest?device=device-1&&', ingest],
        ['/v1/models/nothing/manifest?device=device-1', ingest],
        ['/v1/models/Digits/manifest?device=device-1', ingest],
        ['/v1/models/digits/manifest/?device=device-1', ingest],
        ['/v1/models/digits/manifest?device=device-1', bearer(KEYS.trainer)],
        ['/v1/models/digits/manifest?device=device-1', bearer(KEYS.admin)],
      ];
      for (const [url, headers, method] of others) await same(url, headers, method);
    });

    test('a rollout change is served at once (the cache entry is dropped, and refilled through the pipeline)', async () => {
      const ingest = bearer(KEYS.ingest);
      const put = (body: object) =>
        app.inject({ method: 'PUT', url: '/v1/models/digits/rollout', headers: bearer(KEYS.admin), payload: body });
      assert.equal((await put({ stable: 'v2', canary: null, canaryPercent: 0 })).statusCode, 200);
      const after = await viaHttp('/v1/models/digits/manifest?device=device-1', ingest);
      assert.equal((JSON.parse(after.body) as { version: string }).version, 'v2');
      assert.ok(await same('/v1/models/digits/manifest?device=device-1', ingest));
      assert.equal((await put({ stable: 'v1', canary: 'v2', canaryPercent: 10 })).statusCode, 200);
    });

    test('fast-path answers are counted in the route’s Prometheus series', async () => {
      const count = async () => {
        const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
        const line = text
          .split('\n')
          .find((l) =>
            l.startsWith('edgeloop_http_requests_total{method="GET",route="/v1/models/:model/manifest",status="200"}'),
          );
        return Number(line?.split(' ').at(-1) ?? 0);
      };
      const before = await count();
      for (let i = 0; i < 5; i++) await viaHttp('/v1/models/digits/manifest?device=device-1', bearer(KEYS.ingest));
      assert.equal((await count()) - before, 5);
    });
  });
}

describe('manifest fast path and rate limits', () => {
  let app: App;
  let close: () => Promise<void>;
  before(async () => {
    ({ app, close } = await makeApp('sqlite', { rateLimit: { max: 6, timeWindowMs: 60_000 } }));
    assert.equal((await publish(app, 'digits', 'v1')).statusCode, 201);
    await app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => close());

  test('one budget, whichever path answers: the 7th poll in the window gets 429 with Retry-After', async () => {
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/models/digits/manifest?device=d`;
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await fetch(url, { headers: bearer(KEYS.ingest) });
      statuses.push(r.status);
      if (r.status === 429) assert.ok(Number(r.headers.get('retry-after')) >= 1);
      await r.arrayBuffer();
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 429, 429]);
  });
});
