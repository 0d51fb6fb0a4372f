/**
 * The admin console's rollout controls on both stores: start a canary of any version, raise its percent, pause
 * and resume the automatic policy (each with a required reason, each in the audit log), and the controller's
 * next decision as `GET .../rollout/decision` shows it: the same verdict the controller then writes.
 */
import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '@edgeloop/collector';
import { KEYS, bearer, makeApp, STORE_KINDS } from './helpers/stores.js';
import { publish, stats } from './helpers/release.js';

const AUTO = { stepPercent: 10, maxPercent: 50, intervalSec: 60, minSamples: 100, maxCorrectionRateDelta: 0.02 };

for (const kind of STORE_KINDS) {
  describe(`rollout controls (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    const model = 'digits';
    const post = (action: string, body: unknown, key: string = KEYS.admin) =>
      app.inject({
        method: 'POST',
        url: `/v1/models/${model}/rollout/${action}`,
        headers: bearer(key),
        payload: body as object,
      });
    const rollout = async () =>
      (await app.inject({ method: 'GET', url: `/v1/models/${model}/rollout`, headers: bearer(KEYS.admin) })).json();
    const decision = async () => {
      const r = await app.inject({
        method: 'GET',
        url: `/v1/models/${model}/rollout/decision`,
        headers: bearer(KEYS.admin),
      });
      assert.equal(r.statusCode, 200, r.body);
      return r.json();
    };
    const lastEntry = async () =>
      (
        await app.inject({
          method: 'GET',
          url: `/v1/models/${model}/rollout/history?limit=1`,
          headers: bearer(KEYS.admin),
        })
      ).json().entries[0] as { action: string; actor: string; reason: string; after: { canary: string | null } };

    before(async () => {
      ({ app, close } = await makeApp(kind));
      for (const v of ['v1', 'v2', 'v3']) assert.equal((await publish(app, model, v)).statusCode, 201);
      const r = await app.inject({
        method: 'PUT',
        url: `/v1/models/${model}/rollout`,
        headers: bearer(KEYS.admin),
        payload: { stable: 'v1', canary: null, canaryPercent: 0, auto: AUTO },
      });
      assert.equal(r.statusCode, 200, r.body);
    });
    after(() => close());

    test('the decision says there is no canary, and that the policy waits for the next one', async () => {
      const d = await decision();
      assert.equal(d.state, 'no-canary');
      assert.equal(d.next, null);
      assert.match(d.summary, /applies to the next canary/);
    });

    test('starts a canary of any version with a required reason, recorded in the audit log', async () => {
      assert.equal((await post('canary', { version: 'v3', percent: 5 })).statusCode, 400, 'no reason');
      assert.equal((await post('canary', { version: 'v3', percent: 5, reason: '' })).statusCode, 400, 'empty reason');
      assert.equal((await post('canary', { version: 'v3', percent: 5, reason: 'r' }, KEYS.trainer)).statusCode, 403);
      for (const version of ['v1', 'v9']) {
        const r = await post('canary', { version, percent: 5, reason: 'try it' });
        assert.equal(r.statusCode, 422, `${version}: ${r.body}`);
        assert.equal(r.json().code, 'EL_INVALID_ROLLOUT');
      }
      const r = await post('canary', { version: 'v3', percent: 5, reason: 'see how v3 does on <b>real</b> users' });
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json(), { stable: 'v1', canary: 'v3', canaryPercent: 5, auto: AUTO });
      const e = await lastEntry();
      assert.equal(e.action, 'canary');
      assert.equal(e.actor, 'seed-admin');
      assert.equal(e.reason, 'see how v3 does on <b>real</b> users');
      // Another version replaces the live canary.
      assert.equal((await post('canary', { version: 'v2', percent: 10, reason: 'v2 instead' })).statusCode, 200);
      assert.deepEqual(await rollout(), { stable: 'v1', canary: 'v2', canaryPercent: 10, auto: AUTO });
    });

    test('raises the percent, never lowers it, and needs a canary', async () => {
      const up = await post('percent', { percent: 20, reason: 'more traffic' });
      assert.equal(up.statusCode, 200, up.body);
      assert.equal(up.json().canaryPercent, 20);
      assert.equal((await lastEntry()).action, 'percent');
      const down = await post('percent', { percent: 15, reason: 'less' });
      assert.equal(down.statusCode, 422);
      assert.match(down.json().message, /roll back/);
      assert.equal((await post('percent', { percent: 30 })).statusCode, 400, 'no reason');
      assert.equal((await rollout()).canaryPercent, 20);
    });

    test('the decision judges the current window like the controller: too few samples → hold', async () => {
      const d = await decision();
      assert.equal(d.state, 'waiting');
      assert.equal(d.stable.version, 'v1');
      assert.equal(d.canary.version, 'v2');
      assert.equal(d.next.action, 'hold');
      assert.match(d.next.reason, /too few samples to judge: canary 0\/100, stable 0\/100/);
      assert.ok(d.dueAt > d.window.since, 'says when it judges');
      assert.match(d.summary, /will hold/);
    });

    test('pausing stops the controller; the decision shows the paused verdict; resuming restarts the window', async () => {
      assert.equal((await post('pause', {})).statusCode, 400, 'no reason');
      const p = await post('pause', { reason: 'investigating a support ticket' });
      assert.equal(p.statusCode, 200, p.body);
      assert.deepEqual(p.json().auto, { ...AUTO, paused: true });
      assert.equal((await lastEntry()).action, 'pause');
      const now = Date.now();
      await app.storage.events.insert(
        [
          stats({ model, version: 'v1', predictions: 1000, corrections: 10 }),
          stats({ model, version: 'v2', predictions: 500, corrections: 5 }),
        ],
        now,
      );
      const paused = await decision();
      assert.equal(paused.state, 'paused');
      assert.equal(paused.dueAt, null);
      assert.equal(paused.canary.predictions, 500);
      assert.equal(paused.next.action, 'step');
      assert.equal(paused.next.percent, 30);
      // Long past its interval, the controller still leaves a paused canary alone.
      const ticked = await app.rolloutController.tick(now + 3600_000);
      assert.deepEqual(
        ticked.filter((d) => d.model === model),
        [],
      );
      assert.equal((await rollout()).canaryPercent, 20);
      assert.equal((await lastEntry()).action, 'pause');

      const phaseBefore = (await app.storage.rollout.get(model))!.phaseStartedAt;
      const r = await post('resume', { reason: 'ticket closed' });
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json().auto, AUTO);
      const state = (await app.storage.rollout.get(model))!;
      assert.ok(state.phaseStartedAt > phaseBefore || state.phaseStartedAt >= now, 'the window restarts');
      assert.equal((await lastEntry()).action, 'resume');
    });

    test('the decision shown is the one the controller writes when it is due', async () => {
      // Received now (after the resume restarted the window) and so before the decision's own `now`: a receive time
      // in the future could fall after it and leave the window too few samples.
      const at = Date.now();
      await app.storage.events.insert(
        [
          stats({ model, version: 'v1', predictions: 1000, corrections: 10 }),
          stats({ model, version: 'v2', predictions: 300, corrections: 3 }),
        ],
        at,
      );
      while (Date.now() <= at) await new Promise((r) => setTimeout(r, 1));
      const d = await decision();
      assert.equal(d.next.action, 'step', d.summary);
      assert.equal(d.next.percent, 30);
      const [written] = (await app.rolloutController.tick(d.dueAt)).filter((x) => x.model === model);
      assert.equal(written?.action, 'step');
      assert.equal(written?.rollout.canaryPercent, 30);
    });

    test('pause and resume need an automatic policy', async () => {
      const r = await app.inject({
        method: 'PUT',
        url: `/v1/models/${model}/rollout`,
        headers: bearer(KEYS.admin),
        payload: { stable: 'v1', canary: 'v2', canaryPercent: 30, auto: null },
      });
      assert.equal(r.statusCode, 200, r.body);
      for (const action of ['pause', 'resume']) {
        const res = await post(action, { reason: 'hold on' });
        assert.equal(res.statusCode, 409);
        assert.equal(res.json().code, 'EL_NO_AUTO_POLICY');
      }
      const d = await decision();
      assert.equal(d.state, 'manual');
      assert.match(d.summary, /Manual rollout: canary v2 stays at 30 %/);
    });
  });
}
