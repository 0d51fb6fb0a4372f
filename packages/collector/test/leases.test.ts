/**
 * Training leases on both stores: of concurrent claims exactly one wins (through two collectors on one database),
 * an expired lease is taken over with one more attempt, the old holder's renew and release then get 409
 * EL_LEASE_LOST, and bad input gets 400 with nothing stored.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp, type App } from '@edgeloop/collector';
import { bearer, KEYS, makeApp, STORE_KINDS } from './helpers/stores.js';
import { defaultFiles, meta, multipart } from './helpers/release.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const kind of STORE_KINDS) {
  describe(`training leases (${kind})`, () => {
    let app: App;
    let other: App;
    let close: () => Promise<void>;
    before(async () => {
      const made = await makeApp(kind);
      ({ app, close } = made);
      // A second collector on the same database: claims through both race on the database, not in one process.
      other = await buildApp({
        storage: made.store.options,
        dataDir: made.store.dataDir,
        seedKeys: KEYS,
        controller: false,
        rateLimit: false,
      });
    });
    after(async () => {
      await other.close();
      await close();
    });

    const claim = (model: string, body: unknown, via: App = app, key: string = KEYS.trainer) =>
      via.inject({ method: 'POST', url: `/v1/models/${model}/lease`, headers: bearer(key), payload: body as object });
    const renew = (model: string, leaseId: string, body: unknown = { ttlMs: 60_000 }) =>
      app.inject({
        method: 'POST',
        url: `/v1/models/${model}/lease/${leaseId}/renew`,
        headers: bearer(KEYS.trainer),
        payload: body as object,
      });
    const release = (model: string, leaseId: string) =>
      app.inject({ method: 'DELETE', url: `/v1/models/${model}/lease/${leaseId}`, headers: bearer(KEYS.trainer) });
    const read = (model: string) =>
      app.inject({ method: 'GET', url: `/v1/models/${model}/lease`, headers: bearer(KEYS.trainer) });

    test('a claim on a model nobody trains is granted as attempt 1, and reads back', async () => {
      const before = Date.now();
      const r = await claim('m-first', { holder: 'trainer-a', ttlMs: 60_000 });
      assert.equal(r.statusCode, 200, r.body);
      const lease = r.json();
      assert.equal(lease.model, 'm-first');
      assert.equal(lease.holder, 'trainer-a');
      assert.equal(lease.attempt, 1);
      assert.equal(lease.state, 'held');
      assert.ok(lease.expiresAt >= before + 60_000 && lease.expiresAt <= Date.now() + 60_000);
      assert.deepEqual((await read('m-first')).json(), lease);
      const none = await read('m-never');
      assert.equal(none.statusCode, 404);
      assert.equal(none.json().code, 'EL_NOT_FOUND');
    });

    test('of 20 concurrent first claims through two collectors exactly one wins', async () => {
      const answers = await Promise.all(
        [...Array(20).keys()].map((i) => claim('m-race', { holder: `t-${i}`, ttlMs: 60_000 }, i % 2 ? other : app)),
      );
      const won = answers.filter((r) => r.statusCode === 200);
      assert.equal(won.length, 1, answers.map((r) => r.body).join('\n'));
      for (const r of answers.filter((a) => a.statusCode !== 200)) {
        assert.equal(r.statusCode, 409, r.body);
        assert.equal(r.json().code, 'EL_LEASE_HELD');
      }
      assert.equal((await read('m-race')).json().holder, won[0]!.json().holder);
    });

    test('of 20 concurrent takeovers of an expired lease exactly one wins, as the next attempt', async () => {
      assert.equal((await claim('m-retake', { holder: 'dies', ttlMs: 500 })).statusCode, 200);
      await sleep(600);
      const answers = await Promise.all(
        [...Array(20).keys()].map((i) => claim('m-retake', { holder: `t-${i}`, ttlMs: 60_000 }, i % 2 ? other : app)),
      );
      const won = answers.filter((r) => r.statusCode === 200);
      assert.equal(won.length, 1, answers.map((r) => r.body).join('\n'));
      assert.equal(won[0]!.json().attempt, 2);
      assert.ok(answers.every((r) => r.statusCode === 200 || r.json().code === 'EL_LEASE_HELD'));
    });

    test('another holder gets 409 EL_LEASE_HELD with the holder and expiry; the holder itself gets its lease back', async () => {
      const mine = (await claim('m-held', { holder: 'trainer-a', ttlMs: 60_000 })).json();
      const r = await claim('m-held', { holder: 'trainer-b', ttlMs: 60_000 });
      assert.equal(r.statusCode, 409);
      assert.equal(r.json().code, 'EL_LEASE_HELD');
      assert.equal(r.json().holder, 'trainer-a');
      assert.equal(r.json().expiresAt, mine.expiresAt);
      assert.match(r.json().message, /trainer-a/);
      const again = await claim('m-held', { holder: 'trainer-a', ttlMs: 60_000 });
      assert.equal(again.statusCode, 200);
      assert.equal(again.json().leaseId, mine.leaseId, 'the same lease');
      assert.equal(again.json().attempt, 1);
    });

    test('renew pushes the expiry, release frees the model, and the next claim starts at attempt 1', async () => {
      const lease = (await claim('m-cycle', { holder: 'trainer-a', ttlMs: 1000 })).json();
      const renewed = await renew('m-cycle', lease.leaseId, { ttlMs: 120_000 });
      assert.equal(renewed.statusCode, 200, renewed.body);
      assert.ok(renewed.json().expiresAt >= lease.expiresAt + 100_000);
      const released = await release('m-cycle', lease.leaseId);
      assert.equal(released.statusCode, 200, released.body);
      assert.equal(released.json().state, 'released');
      assert.deepEqual((await release('m-cycle', lease.leaseId)).json(), released.json(), 'releasing again: the same');
      const renewAfter = await renew('m-cycle', lease.leaseId);
      assert.equal(renewAfter.statusCode, 409, 'a released lease is not renewed');
      assert.equal(renewAfter.json().code, 'EL_LEASE_LOST');
      const next = await claim('m-cycle', { holder: 'trainer-b', ttlMs: 60_000 });
      assert.equal(next.statusCode, 200);
      assert.equal(next.json().attempt, 1);
      assert.notEqual(next.json().leaseId, lease.leaseId);
    });

    test("after a takeover the old holder's renew and release get 409 EL_LEASE_LOST and change nothing", async () => {
      const old = (await claim('m-lost', { holder: 'slow', ttlMs: 500 })).json();
      await sleep(600);
      assert.equal((await read('m-lost')).json().state, 'expired');
      const taken = await claim('m-lost', { holder: 'fast', ttlMs: 60_000 }, other);
      assert.equal(taken.statusCode, 200);
      assert.equal(taken.json().attempt, 2);
      for (const r of [await renew('m-lost', old.leaseId), await release('m-lost', old.leaseId)]) {
        assert.equal(r.statusCode, 409, r.body);
        assert.equal(r.json().code, 'EL_LEASE_LOST');
        assert.match(r.json().message, /"fast" holds the model's lease now, attempt 2/);
      }
      assert.deepEqual((await read('m-lost')).json(), taken.json(), 'the new lease is untouched');
      // The takeover went through the other collector, the lost renew and release through this one.
      const metrics = async (via: App) => (await via.inject({ method: 'GET', url: '/metrics' })).body;
      assert.match(await metrics(other), /^edgeloop_training_leases_total\{outcome="takeover"\} [1-9]/m);
      assert.match(await metrics(app), /^edgeloop_training_leases_total\{outcome="lost"\} [1-9]/m);
    });

    test('an expired lease nobody took over is still renewed by its holder', async () => {
      const lease = (await claim('m-late', { holder: 'paused', ttlMs: 500 })).json();
      await sleep(600);
      const r = await renew('m-late', lease.leaseId);
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().state, 'held');
      assert.equal(r.json().attempt, 1);
    });

    test('bad input answers 400 EL_INVALID_BODY and stores nothing', async () => {
      for (const body of [
        {},
        { holder: 'a' },
        { ttlMs: 60_000 },
        { holder: 'a', ttlMs: 499 },
        { holder: 'a', ttlMs: 3_600_001 },
        { holder: 'a', ttlMs: 1e308 },
        { holder: 'a', ttlMs: 1000.5 },
        { holder: 'a', ttlMs: '60000' },
        { holder: 'a', ttlMs: 60_000, extra: 1 },
        { holder: '', ttlMs: 60_000 },
        { holder: 'with space', ttlMs: 60_000 },
        { holder: 'nul\u0000', ttlMs: 60_000 },
        { holder: '\ud800', ttlMs: 60_000 },
        { holder: 'x'.repeat(201), ttlMs: 60_000 },
        { holder: 7, ttlMs: 60_000 },
        [],
      ]) {
        const r = await claim('m-bad', body);
        assert.equal(r.statusCode, 400, `${JSON.stringify(body)} → ${r.body}`);
        assert.equal(r.json().code, 'EL_INVALID_BODY');
      }
      const badModel = await claim('Not_A_Model', { holder: 'a', ttlMs: 60_000 });
      assert.equal(badModel.statusCode, 400);
      assert.equal(badModel.json().code, 'EL_INVALID_BODY');
      assert.equal((await read('m-bad')).statusCode, 404, 'nothing stored');
      assert.equal(await app.storage.leases.get('Not_A_Model'), undefined);

      const lease = (await claim('m-bad', { holder: 'a', ttlMs: 60_000 })).json();
      for (const [leaseId, body] of [
        ['not-a-uuid', { ttlMs: 60_000 }],
        [lease.leaseId, { ttlMs: 0 }],
        [lease.leaseId, { ttlMs: 60_000, holder: 'b' }],
        [lease.leaseId, {}],
      ] as const) {
        const r = await renew('m-bad', leaseId, body);
        assert.equal(r.statusCode, 400, `${leaseId} ${JSON.stringify(body)} → ${r.body}`);
        assert.equal(r.json().code, 'EL_INVALID_BODY');
      }
      const del = await release('m-bad', 'not-a-uuid');
      assert.equal(del.statusCode, 400);
      assert.deepEqual((await read('m-bad')).json(), lease, 'the lease is unchanged');
    });

    const next = (body: unknown, via: App = app) =>
      via.inject({ method: 'POST', url: '/v1/leases/next', headers: bearer(KEYS.trainer), payload: body as object });

    test('next: 20 concurrent trainers over 5 models through two collectors get 5 different models', async () => {
      const models = ['q-a', 'q-b', 'q-c', 'q-d', 'q-e'];
      // Two of them have a history: one released, one expired (its holder died).
      const released = (await claim('q-b', { holder: 'old', ttlMs: 60_000 })).json();
      await release('q-b', released.leaseId);
      assert.equal((await claim('q-d', { holder: 'dead', ttlMs: 500 })).statusCode, 200);
      await sleep(600);
      const answers = await Promise.all(
        [...Array(20).keys()].map((i) => next({ holder: `n-${i}`, ttlMs: 60_000, models }, i % 2 ? other : app)),
      );
      for (const r of answers) assert.equal(r.statusCode, 200, r.body);
      const granted = answers.map((r) => r.json().lease).filter((l) => l !== null);
      assert.deepEqual(granted.map((l) => l.model).sort(), models, 'each model once');
      assert.equal(new Set(granted.map((l) => l.holder)).size, 5, 'five different trainers');
      const byModel = Object.fromEntries(granted.map((l) => [l.model, l]));
      assert.equal(byModel['q-b'].attempt, 1, 'after a release: a fresh job');
      assert.equal(byModel['q-d'].attempt, 2, 'after an expiry: the next attempt');
      for (const l of granted) assert.deepEqual((await read(l.model)).json(), l);
      const none = await next({ holder: 'late', ttlMs: 60_000, models });
      assert.deepEqual(none.json(), { lease: null }, 'every model held');
    });

    test('next: models never claimed come first, in the order named, then the one free the longest', async () => {
      const a = (await claim('r-a', { holder: 'x', ttlMs: 60_000 })).json();
      const b = (await claim('r-b', { holder: 'x', ttlMs: 60_000 })).json();
      await release('r-b', b.leaseId);
      await sleep(5);
      await release('r-a', a.leaseId);
      const order: string[] = [];
      for (let i = 0; i < 4; i++)
        order.push(
          (await next({ holder: `y-${i}`, ttlMs: 60_000, models: ['r-a', 'r-b', 'r-new2', 'r-new1'] })).json().lease
            .model,
        );
      assert.deepEqual(order, ['r-new2', 'r-new1', 'r-b', 'r-a']);
    });

    test('next: bad input answers 400 EL_INVALID_BODY and stores nothing', async () => {
      for (const body of [
        { holder: 'a', ttlMs: 60_000 },
        { holder: 'a', ttlMs: 60_000, models: [] },
        { holder: 'a', ttlMs: 60_000, models: ['s-a', 's-a'] },
        { holder: 'a', ttlMs: 60_000, models: ['s-a', 'Bad Name'] },
        { holder: 'a', ttlMs: 60_000, models: ['s-a', 'nul\u0000'] },
        { holder: 'a', ttlMs: 60_000, models: [...Array(101).keys()].map((i) => `s-${i}`) },
        { holder: 'a', ttlMs: 60_000, models: 's-a' },
        { holder: 'a', ttlMs: 10, models: ['s-a'] },
        { holder: 'a b', ttlMs: 60_000, models: ['s-a'] },
        { ttlMs: 60_000, models: ['s-a'] },
        { holder: 'a', ttlMs: 60_000, models: ['s-a'], extra: true },
      ]) {
        const r = await next(body);
        assert.equal(r.statusCode, 400, `${JSON.stringify(body)} → ${r.body}`);
        assert.equal(r.json().code, 'EL_INVALID_BODY');
      }
      assert.equal((await read('s-a')).statusCode, 404, 'nothing stored');
      assert.equal((await read('s-0')).statusCode, 404, 'nothing stored');
    });

    test('an ingest key cannot claim (403), and no key gets 401', async () => {
      const r = await claim('m-auth', { holder: 'a', ttlMs: 60_000 }, app, KEYS.ingest);
      assert.equal(r.statusCode, 403);
      assert.equal(r.json().code, 'EL_FORBIDDEN');
      const none = await app.inject({
        method: 'POST',
        url: '/v1/models/m-auth/lease',
        payload: { holder: 'a', ttlMs: 1000 },
      });
      assert.equal(none.statusCode, 401);
      assert.equal((await read('m-auth')).statusCode, 404);
    });

    test("a publish with a lease that is no longer the model's is refused with 409 EL_LEASE_LOST", async () => {
      const publishWith = async (version: string, leaseId: string) => {
        const body = await multipart(meta({ version }), defaultFiles(version));
        return app.inject({
          method: 'POST',
          url: `/v1/models/m-fence/versions?lease=${leaseId}`,
          headers: { ...body.headers, ...bearer(KEYS.trainer) },
          payload: body.payload,
        });
      };
      const first = (await claim('m-fence', { holder: 'slow', ttlMs: 500 })).json();
      await sleep(600);
      const second = (await claim('m-fence', { holder: 'fast', ttlMs: 60_000 })).json();
      const late = await publishWith('v-late', first.leaseId);
      assert.equal(late.statusCode, 409, late.body);
      assert.equal(late.json().code, 'EL_LEASE_LOST');
      assert.match(late.json().message, /"fast" holds the model's lease now/);
      const ok = await publishWith('v-fenced', second.leaseId);
      assert.equal(ok.statusCode, 201, ok.body);
      assert.equal((await release('m-fence', second.leaseId)).statusCode, 200);
      const afterRelease = await publishWith('v-after', second.leaseId);
      assert.equal(afterRelease.json().code, 'EL_LEASE_LOST');
      const versions = await app.inject({
        method: 'GET',
        url: '/v1/models/m-fence/versions',
        headers: bearer(KEYS.trainer),
      });
      assert.deepEqual(
        versions.json().versions.map((v: { version: string }) => v.version),
        ['v-fenced'],
      );
    });
  });
}
