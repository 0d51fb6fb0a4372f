/** Behind a reverse proxy: X-Forwarded-For names the client (for rate limits) only when the proxy is trusted. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp, resolveConfig, type App, type CollectorConfig } from '@edgeloop/collector';
import { bearer, KEYS, makeApp } from './helpers/stores.js';

const PROXY = '10.0.0.1';

/** An app whose budget is 2 requests a minute per (key, client IP). */
async function withApp(trustProxy: CollectorConfig['trustProxy'], run: (app: App) => Promise<void>) {
  const { app, close } = await makeApp('sqlite', {
    rateLimit: { max: 2, timeWindowMs: 60_000 },
    ...(trustProxy === undefined ? {} : { trustProxy }),
  });
  try {
    await run(app);
  } finally {
    await close();
  }
}

/** Statuses of one ingest request per forwarded-for value, all sent by `from`. */
async function statuses(app: App, forwardedFor: string[], from = PROXY): Promise<number[]> {
  const out: number[] = [];
  for (const xff of forwardedFor) {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/events',
      remoteAddress: from,
      headers: { 'content-type': 'application/json', 'x-forwarded-for': xff, ...bearer(KEYS.ingest) },
      payload: '{"events":[]}',
    });
    out.push(r.statusCode);
  }
  return out;
}

describe('trustProxy', () => {
  test('by default X-Forwarded-For is ignored: every client behind a proxy shares its budget', async () => {
    await withApp(undefined, async (app) => {
      assert.deepEqual(await statuses(app, ['1.1.1.1', '2.2.2.2', '3.3.3.3']), [200, 200, 429]);
    });
  });

  test('true: each forwarded client gets its own budget', async () => {
    await withApp(true, async (app) => {
      assert.deepEqual(await statuses(app, ['1.1.1.1', '2.2.2.2', '3.3.3.3']), [200, 200, 200]);
      assert.deepEqual(await statuses(app, ['1.1.1.1', '1.1.1.1']), [200, 429]);
    });
  });

  test('a CIDR list: X-Forwarded-For is honoured only from the proxies it names', async () => {
    await withApp(['10.0.0.0/8', '192.0.2.7'], async (app) => {
      assert.deepEqual(await statuses(app, ['1.1.1.1', '2.2.2.2', '3.3.3.3']), [200, 200, 200]);
      assert.deepEqual(
        await statuses(app, ['4.4.4.4', '5.5.5.5', '6.6.6.6'], '198.51.100.9'),
        [200, 200, 429],
        'an untrusted sender cannot pick its IP',
      );
    });
  });

  test('a client cannot forge its way out of the budget: only the hop the trusted proxy added counts', async () => {
    await withApp('10.0.0.0/8', async (app) => {
      assert.deepEqual(
        await statuses(app, ['9.9.9.1, 1.1.1.1', '9.9.9.2, 1.1.1.1', '9.9.9.3, 1.1.1.1']),
        [200, 200, 429],
      );
      assert.deepEqual(await statuses(app, ['9.9.9.1, 2.2.2.2']), [200]);
    });
  });

  test('bad values fail at start-up with EL_INVALID_CONFIG', async () => {
    for (const trustProxy of [
      1,
      'not-an-address',
      ['10.0.0.0/33'],
      '10.0.0.1,',
      '',
      [],
      {},
    ] as unknown as CollectorConfig['trustProxy'][]) {
      assert.throws(
        () => resolveConfig({ trustProxy }),
        (err: Error & { code?: string }) => err.code === 'EL_INVALID_CONFIG',
        JSON.stringify(trustProxy),
      );
    }
    await assert.rejects(buildApp({ trustProxy: 'nope', storage: { sqlite: { path: ':memory:' } } }), /trustProxy/);
    assert.equal(resolveConfig({}).trustProxy, false);
    assert.equal(resolveConfig({ trustProxy: 'loopback, 10.0.0.0/8' }).trustProxy, 'loopback, 10.0.0.0/8');
    assert.throws(() => resolveConfig({ trustProxy: 2 as unknown as boolean }), /hop count .*list the proxies/);
  });
});
