import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '@edgeloop/collector';
import { KEYS, bearer, makeApp, STORE_KINDS } from './helpers/stores.js';
import { publish } from './helpers/release.js';

const AUTO = { stepPercent: 10, maxPercent: 50, intervalSec: 60, minSamples: 100, maxCorrectionRateDelta: 0.02 };

for (const kind of STORE_KINDS) {
  describe(`rollout (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    const put = (body: unknown, key: string = KEYS.trainer) =>
      app.inject({ method: 'PUT', url: '/v1/models/digits/rollout', headers: bearer(key), payload: body as object });
    const post = (action: 'promote' | 'rollback', body?: unknown, key: string = KEYS.admin) =>
      app.inject({
        method: 'POST',
        url: `/v1/models/digits/rollout/${action}`,
        headers: bearer(key),
        ...(body === undefined ? {} : { payload: body as object }),
      });
    const history = async () =>
      (
        await app.inject({ method: 'GET', url: '/v1/models/digits/rollout/history', headers: bearer(KEYS.admin) })
      ).json().entries as {
        action: string;
        actor: string;
        reason: string;
        before: unknown;
        after: { stable: string; canary: string | null; canaryPercent: number };
      }[];

    before(async () => {
      ({ app, close } = await makeApp(kind));
      for (const v of ['v1', 'v2', 'v3']) assert.equal((await publish(app, 'digits', v)).statusCode, 201);
    });
    after(() => close());

    test('starts a canary and reads it back', async () => {
      const r = await put({ stable: 'v1', canary: 'v2', canaryPercent: 5, auto: AUTO, reason: 'new batch b-7' });
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json(), { stable: 'v1', canary: 'v2', canaryPercent: 5, auto: AUTO });
      const g = await app.inject({ method: 'GET', url: '/v1/models/digits/rollout', headers: bearer(KEYS.admin) });
      assert.deepEqual(g.json(), r.json());
      const [last] = await history();
      assert.equal(last!.action, 'set');
      assert.equal(last!.actor, 'seed-trainer');
      assert.equal(last!.reason, 'new batch b-7');
    });

    test('raising the percent is allowed and omitting auto keeps the policy', async () => {
      const r = await put({ stable: 'v1', canary: 'v2', canaryPercent: 20 });
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json().auto, AUTO);
    });

    test("lowering a live canary's percent is refused: rolling back ends it", async () => {
      for (const canaryPercent of [10, 0]) {
        const r = await put({ stable: 'v1', canary: 'v2', canaryPercent });
        assert.equal(r.statusCode, 422);
        assert.equal(r.json().code, 'EL_INVALID_ROLLOUT');
        assert.match(r.json().message, /roll back/);
      }
      const g = await app.inject({ method: 'GET', url: '/v1/models/digits/rollout', headers: bearer(KEYS.admin) });
      assert.equal(g.json().canaryPercent, 20);
    });

    test('refuses inconsistent rollouts and unknown versions', async () => {
      const bad: [unknown, number][] = [
        [{ stable: 'v1', canary: null, canaryPercent: 5 }, 422],
        [{ stable: null, canary: 'v2', canaryPercent: 30 }, 422],
        [{ stable: 'v2', canary: 'v2', canaryPercent: 30 }, 422],
        [{ stable: 'v1', canary: 'v9', canaryPercent: 30 }, 422],
        [{ stable: 'v1', canary: 'v2', canaryPercent: 130 }, 400],
        [{ stable: 'v1', canary: 'v2', canaryPercent: '30' }, 400],
        [{ stable: 'v1', canary: 'v2', canaryPercent: 30, extra: true }, 400],
      ];
      for (const [body, status] of bad) {
        const r = await put(body);
        assert.equal(r.statusCode, status, `${JSON.stringify(body)} → ${r.body}`);
      }
      const unknown = await app.inject({
        method: 'PUT',
        url: '/v1/models/nothing/rollout',
        headers: bearer(KEYS.admin),
        payload: { stable: 'v1', canary: null, canaryPercent: 0 },
      });
      assert.equal(unknown.statusCode, 404);
      assert.equal(unknown.json().code, 'EL_MODEL_NOT_FOUND');
    });

    test('stable: null is refused for a model with versions, so its manifests keep working', async () => {
      for (const key of [KEYS.trainer, KEYS.admin]) {
        const r = await put({ stable: null, canary: null, canaryPercent: 0 }, key);
        assert.equal(r.statusCode, 422, r.body);
        assert.equal(r.json().code, 'EL_INVALID_ROLLOUT');
        assert.match(r.json().message, /name a stable version/);
      }
      const g = await app.inject({ method: 'GET', url: '/v1/models/digits/rollout', headers: bearer(KEYS.admin) });
      assert.equal(g.json().stable, 'v1');
      const m = await app.inject({
        method: 'GET',
        url: '/v1/models/digits/manifest?device=d-1',
        headers: bearer(KEYS.ingest),
      });
      assert.equal(m.statusCode, 200, m.body);
    });

    test('only admins promote and roll back', async () => {
      assert.equal((await post('promote', undefined, KEYS.trainer)).statusCode, 403);
      assert.equal((await post('rollback', undefined, KEYS.ingest)).statusCode, 403);
      assert.equal(
        (await app.inject({ method: 'GET', url: '/v1/models/digits/rollout/history', headers: bearer(KEYS.trainer) }))
          .statusCode,
        403,
      );
    });

    test('promote makes the canary stable and records who and why', async () => {
      const r = await post('promote', { reason: 'looks good on the dashboard' });
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json(), { stable: 'v2', canary: null, canaryPercent: 0, auto: AUTO });
      const [last] = await history();
      assert.equal(last!.action, 'promote');
      assert.equal(last!.actor, 'seed-admin');
      assert.equal(last!.reason, 'looks good on the dashboard');
      assert.deepEqual(last!.before, { stable: 'v1', canary: 'v2', canaryPercent: 20, auto: AUTO });
    });

    test('promote or rollback without a canary is a 409', async () => {
      for (const action of ['promote', 'rollback'] as const) {
        const r = await post(action);
        assert.equal(r.statusCode, 409);
        assert.equal(r.json().code, 'EL_NO_CANARY');
      }
    });

    test('rollback ends the canary, keeps stable and records who and why', async () => {
      assert.equal((await put({ stable: 'v2', canary: 'v3', canaryPercent: 10 })).statusCode, 200);
      const r = await post('rollback', { reason: 'users report wrong sevens' });
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json(), { stable: 'v2', canary: null, canaryPercent: 0, auto: AUTO });
      const [last] = await history();
      assert.equal(last!.action, 'rollback');
      assert.equal(last!.actor, 'seed-admin');
      assert.equal(last!.reason, 'users report wrong sevens');
      assert.equal(last!.after.canary, null);
    });

    test('a body other than {reason} is refused', async () => {
      assert.equal((await put({ stable: 'v2', canary: 'v3', canaryPercent: 10 })).statusCode, 200);
      const r = await post('rollback', { reason: 'x', force: true });
      assert.equal(r.statusCode, 400);
    });

    test('the history lists every change newest first', async () => {
      const entries = await history();
      assert.deepEqual(
        entries.map((e) => e.action),
        ['set', 'rollback', 'set', 'promote', 'set', 'set', 'publish'],
      );
      assert.ok(entries.every((e) => typeof e.reason === 'string' && e.reason.length > 0 && e.actor.length > 0));
    });
  });
}
