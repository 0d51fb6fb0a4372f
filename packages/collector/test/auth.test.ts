import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { createKey, type App } from '@edgeloop/collector';
import { makeApp, bearer, KEYS, PG_URL, STORE_KINDS, type TestStore } from './helpers/stores.js';
import { errorEvent } from './helpers/events.js';

type Who = 'none' | 'ingest' | 'trainer' | 'admin';
const RANK = { none: -1, ingest: 0, trainer: 1, admin: 2 } as const;

// Sample values for path parameters, by name; anything else gets "x".
const PARAMS: Record<string, string> = {
  model: 'digits',
  version: 'v1',
  sha256: 'ab'.repeat(32),
  id: '01890a5d-ac96-774b-bcce-b302099a8057',
};

function concreteUrl(url: string): string {
  return url.replace(/:(\w+)(\([^)]*\))?/g, (_m, name: string) => PARAMS[name] ?? 'x').replace(/\*$/, 'index.html');
}

/** What a caller with `who` must get on a route needing `scope`: 401, 403, or anything else (allowed). */
function expected(scope: string, who: Who): 401 | 403 | 'allowed' {
  if (scope === 'none') return 'allowed';
  if (who === 'none') return 401;
  return RANK[who] >= RANK[scope as keyof typeof RANK] ? 'allowed' : 403;
}

for (const kind of STORE_KINDS) {
  describe(`auth (${kind})`, () => {
    let app: App;
    let store: TestStore;
    let close: () => Promise<void>;
    before(async () => ({ app, store, close } = await makeApp(kind)));
    after(() => close());

    test('every registered route answers 401/403/allowed for no key, ingest, trainer and admin keys', async () => {
      // Preflights carry no credentials by definition (CORS), so OPTIONS routes are outside the matrix.
      const routes = app.routeTable.filter((r) => r.method !== 'OPTIONS');
      const urls = new Set(routes.map((r) => `${r.method} ${r.url}`));
      for (const known of ['POST /v1/events', 'GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /openapi.json']) {
        assert.ok(urls.has(known), `${known} is in the route table`);
      }
      const failures: string[] = [];
      for (const route of routes) {
        for (const who of ['none', 'ingest', 'trainer', 'admin'] as const) {
          const headers: Record<string, string> = who === 'none' ? {} : bearer(KEYS[who]);
          const hasBody = route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH';
          const r = await app.inject({
            method: route.method as 'GET',
            url: concreteUrl(route.url),
            headers: hasBody ? { ...headers, 'content-type': 'application/json' } : headers,
            ...(hasBody ? { payload: '{}' } : {}),
          });
          const want = expected(route.scope, who);
          const ok = want === 'allowed' ? r.statusCode !== 401 && r.statusCode !== 403 : r.statusCode === want;
          if (!ok)
            failures.push(
              `${route.method} ${route.url} (scope ${route.scope}) with ${who}: got ${r.statusCode}, want ${want}`,
            );
          if (want !== 'allowed' && r.statusCode === want && route.method !== 'HEAD') {
            assert.equal(r.json().code, want === 401 ? 'EL_UNAUTHORIZED' : 'EL_FORBIDDEN');
          }
        }
      }
      assert.deepEqual(failures, []);
    });

    test('a key given only in ?key= works on ingest routes and nowhere else', async () => {
      const events = await app.inject({
        method: 'POST',
        url: `/v1/events?key=${KEYS.admin}`,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ events: [] }),
      });
      assert.equal(events.statusCode, 200);
      for (const route of app.routeTable.filter(
        (r) => r.method !== 'OPTIONS' && (r.scope === 'trainer' || r.scope === 'admin'),
      )) {
        const r = await app.inject({
          method: route.method as 'GET',
          url: `${concreteUrl(route.url)}?key=${KEYS.admin}`,
        });
        assert.equal(r.statusCode, 401, `${route.method} ${route.url}`);
      }
    });

    test('a revoked key stops working', async () => {
      const { secret, record } = await createKey(app.storage, 'ingest', 'to-revoke');
      const send = () =>
        app.inject({
          method: 'POST',
          url: '/v1/events',
          headers: { 'content-type': 'application/json', ...bearer(secret) },
          payload: JSON.stringify({ events: [errorEvent()] }),
        });
      assert.equal((await send()).statusCode, 200);
      assert.equal(await app.storage.keys.revoke(record.id, Date.now()), true);
      app.forgetKeys();
      const r = await send();
      assert.equal(r.statusCode, 401);
      assert.equal(r.json().code, 'EL_UNAUTHORIZED');
      const listed = (await app.storage.keys.list()).find((k) => k.id === record.id);
      assert.ok(listed?.revokedAt, 'listed as revoked');
    });

    test('keys are stored hashed: no secret appears in the database', async () => {
      const { secret } = await createKey(app.storage, 'admin', 'hashed-check');
      const secrets = [secret, ...Object.values(KEYS)];
      let haystack: string;
      if (kind === 'sqlite') {
        haystack = readdirSync(store.dataDir)
          .filter((f) => f.startsWith('edgeloop.db'))
          .map((f) => readFileSync(join(store.dataDir, f)).toString('latin1'))
          .join('\n');
        assert.ok(haystack.length > 0);
      } else {
        const schema = (store.options as { postgres: { schema: string } }).postgres.schema;
        const client = new pg.Client({ connectionString: PG_URL });
        await client.connect();
        try {
          const { rows } = await client.query(`SELECT * FROM ${schema}.api_keys`);
          haystack = JSON.stringify(rows);
          assert.ok(rows.length >= 4);
        } finally {
          await client.end();
        }
      }
      for (const s of secrets) assert.ok(!haystack.includes(s), 'a secret was found in the store');
    });
  });
}
