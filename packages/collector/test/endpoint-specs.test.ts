/** The collector serves the HTTP API its protocol specs describe: every spec is a route with the spec's scope, and every /v1 route comes from a spec. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { endpoints } from '@edgeloop/protocol';
import type { App } from '@edgeloop/collector';
import { makeApp } from './helpers/stores.js';

let app: App;
let close: () => Promise<void>;
before(async () => ({ app, close } = await makeApp('sqlite')));
after(() => close());

test('every endpoint spec is registered once, with its method, url and scope', () => {
  for (const [name, spec] of Object.entries(endpoints)) {
    const routes = app.routeTable.filter((r) => r.method === spec.method && r.url === spec.url);
    assert.equal(routes.length, 1, `${name}: ${spec.method} ${spec.url}`);
    assert.equal(routes[0]!.endpoint, spec, `${name} is registered from its spec`);
    assert.equal(routes[0]!.scope, spec.scope, `${name}: scope`);
  }
});

test('every route of the v1 API comes from a spec', () => {
  const loose = app.routeTable.filter(
    (r) => r.url.startsWith('/v1/') && r.method !== 'OPTIONS' && r.method !== 'HEAD' && !r.endpoint,
  );
  assert.deepEqual(
    loose.map((r) => `${r.method} ${r.url}`),
    [],
  );
});

test("the OpenAPI document names each spec's route with its summary", async () => {
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
    paths: Record<string, Record<string, { summary?: string }>>;
  };
  for (const spec of Object.values(endpoints)) {
    const path = spec.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    assert.equal(doc.paths[path]?.[spec.method.toLowerCase()]?.summary, spec.summary, `${spec.method} ${spec.url}`);
  }
});
