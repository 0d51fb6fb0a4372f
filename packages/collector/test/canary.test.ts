import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { buildApp, type App } from '@edgeloop/collector';
import type { Event } from '@edgeloop/protocol';
import { KEYS, PG_URL, bearer, makeApp, STORE_KINDS, type TestStore } from './helpers/stores.js';
import { publish, stats } from './helpers/release.js';
import { correction, errorEvent } from './helpers/events.js';
import { CONTROLLER_LEASE_MS } from '@edgeloop/collector/internal';

const AUTO = { stepPercent: 20, maxPercent: 50, intervalSec: 60, minSamples: 100, maxCorrectionRateDelta: 0.02 };
const INTERVAL = AUTO.intervalSec * 1000;

interface Side {
  predictions: number;
  corrections?: number;
  lowConfidence?: number;
  errors?: number;
}

for (const kind of STORE_KINDS) {
  describe(`automatic canary (${kind})`, () => {
    let app: App;
    let store: TestStore;
    let close: () => Promise<void>;
    let model = '';
    let n = 0;

    const rollout = async () =>
      (await app.inject({ method: 'GET', url: `/v1/models/${model}/rollout`, headers: bearer(KEYS.admin) })).json();
    const history = async () =>
      (
        await app.inject({ method: 'GET', url: `/v1/models/${model}/rollout/history`, headers: bearer(KEYS.admin) })
      ).json().entries as {
        action: string;
        actor: string;
        reason: string;
        details: Record<string, unknown> | null;
      }[];
    /** A fresh model with v1 stable and v2 a 5% canary under the auto policy; resolves to when its window began. */
    async function startCanary(): Promise<number> {
      model = `canary-${kind}-${++n}`;
      assert.equal((await publish(app, model, 'v1')).statusCode, 201);
      assert.equal((await publish(app, model, 'v2', { parent: 'v1' })).statusCode, 201);
      const r = await app.inject({
        method: 'PUT',
        url: `/v1/models/${model}/rollout`,
        headers: bearer(KEYS.trainer),
        payload: { stable: 'v1', canary: 'v2', canaryPercent: 5, auto: AUTO },
      });
      assert.equal(r.statusCode, 200, r.body);
      return (await app.storage.rollout.get(model))!.phaseStartedAt;
    }
    /** Synthetic device windows for both sides, received at `at` (split over a few devices). */
    async function report(at: number, stable: Side, canary: Side) {
      const events: Event[] = [];
      for (const [version, side] of [
        ['v1', stable],
        ['v2', canary],
      ] as const) {
        const devices = 4;
        for (let d = 0; d < devices; d++) {
          const share = (x = 0) => Math.floor(x / devices) + (d < x % devices ? 1 : 0);
          events.push(
            stats({
              model,
              version,
              predictions: share(side.predictions),
              corrections: share(side.corrections),
              lowConfidence: share(side.lowConfidence),
              errors: share(side.errors),
            }),
          );
        }
      }
      await app.storage.events.insert(events, at);
    }

    /** The controller's decision on this test's model at `at` (other tests' canaries are decided too). */
    const decide = async (at: number, on: App = app) =>
      (await on.rolloutController.tick(at)).filter((d) => d.model === model);

    before(async () => ({ app, store, close } = await makeApp(kind)));
    after(() => close());

    test('promotes a good canary step by step', async () => {
      let phase = await startCanary();
      const percents: number[] = [];
      for (let i = 0; i < 4; i++) {
        await report(
          phase + 1000,
          { predictions: 1000, corrections: 20, lowConfidence: 100 },
          { predictions: 200, corrections: 4, lowConfidence: 19 },
        );
        const decisions = await decide(phase + INTERVAL);
        assert.equal(decisions.length, 1);
        assert.equal(decisions[0]!.applied, true);
        const r = await rollout();
        percents.push(r.canary === null ? 100 : r.canaryPercent);
        phase = (await app.storage.rollout.get(model))!.phaseStartedAt;
      }
      assert.deepEqual(percents, [25, 45, 50, 100]);
      assert.deepEqual(await rollout(), { stable: 'v2', canary: null, canaryPercent: 0, auto: AUTO });
      const h = await history();
      assert.deepEqual(
        h.map((e) => e.action),
        ['auto.promote', 'auto.step', 'auto.step', 'auto.step', 'set', 'publish'],
      );
      assert.ok(h.slice(0, 4).every((e) => e.actor === 'controller' && /no worse than stable/.test(e.reason)));
      assert.equal((h[0]!.details!.canary as { predictions: number }).predictions, 200);
    });

    test('waits for the interval before deciding', async () => {
      const phase = await startCanary();
      await report(phase + 1000, { predictions: 1000 }, { predictions: 200 });
      assert.deepEqual(await decide(phase + INTERVAL - 1), []);
      assert.equal((await rollout()).canaryPercent, 5);
    });

    test('rolls back a canary whose users correct it more', async () => {
      const phase = await startCanary();
      await report(phase + 1000, { predictions: 1000, corrections: 20 }, { predictions: 200, corrections: 20 });
      const [d] = await decide(phase + INTERVAL);
      assert.equal(d!.action, 'rollback');
      assert.deepEqual(await rollout(), { stable: 'v1', canary: null, canaryPercent: 0, auto: AUTO });
      const [last] = await history();
      assert.equal(last!.action, 'auto.rollback');
      assert.match(last!.reason, /correction rate 10\.00% vs stable 2\.00%/);
      const m = await app.inject({
        method: 'GET',
        url: `/v1/models/${model}/manifest?device=any`,
        headers: bearer(KEYS.ingest),
      });
      assert.equal(m.json().version, 'v1');
    });

    test('counts correction events when the stats windows have not arrived', async () => {
      const phase = await startCanary();
      await report(phase + 1000, { predictions: 1000, corrections: 20 }, { predictions: 200 });
      const corrections = Array.from({ length: 30 }, () =>
        correction('0190a0a0-0000-7000-8000-000000000000', '7', { model, version: 'v2' }),
      );
      await app.storage.events.insert(corrections, phase + 2000);
      const [d] = await decide(phase + INTERVAL);
      assert.equal(d!.action, 'rollback');
      assert.match(d!.reason, /correction rate 15\.00%/);
    });

    test('rolls back a canary that fails to load, though it makes no predictions', async () => {
      const phase = await startCanary();
      await report(phase + 1000, { predictions: 1000 }, { predictions: 0 });
      const errors = Array.from({ length: 120 }, (_, i) =>
        errorEvent({ model, version: 'v2', deviceId: `d-${i}`, code: 'EL_MODEL_LOAD' }),
      );
      await app.storage.events.insert(errors, phase + 2000);
      const [d] = await decide(phase + INTERVAL);
      assert.equal(d!.action, 'rollback');
      assert.match(d!.reason, /error rate 100\.00%/);
    });

    test('holds when samples are too few, and says so', async () => {
      const phase = await startCanary();
      await report(phase + 1000, { predictions: 1000 }, { predictions: 20 });
      const [d] = await decide(phase + INTERVAL);
      assert.equal(d!.action, 'hold');
      assert.match(d!.reason, /too few samples to judge: canary 20\/100, stable 1000\/100/);
      assert.equal((await rollout()).canaryPercent, 5);
      const [last] = await history();
      assert.equal(last!.action, 'auto.hold');
      assert.equal(last!.actor, 'controller');
      // The window keeps growing while it holds: once enough arrive, the canary moves on.
      await report(phase + INTERVAL + 1000, { predictions: 0 }, { predictions: 100 });
      assert.deepEqual(await decide(phase + INTERVAL + 1000), [], 'next decision waits an interval');
      const [next] = await decide(phase + 2 * INTERVAL);
      assert.equal(next!.action, 'step');
      assert.equal((await rollout()).canaryPercent, 25);
    });

    test('a rollout changed by a person meanwhile is not overwritten', async () => {
      const phase = await startCanary();
      await report(phase + 1000, { predictions: 1000 }, { predictions: 200 });
      const r = await app.inject({
        method: 'POST',
        url: `/v1/models/${model}/rollout/rollback`,
        headers: bearer(KEYS.admin),
        payload: { reason: 'manual' },
      });
      assert.equal(r.statusCode, 200);
      assert.deepEqual(await decide(phase + INTERVAL), []);
      assert.equal((await history())[0]!.action, 'rollback');
    });

    test('only one of several collectors on one store runs the controller', async () => {
      const phase = await startCanary();
      await report(phase + 1000, { predictions: 1000 }, { predictions: 200 });
      const other = await buildApp({
        storage: store.options,
        dataDir: store.dataDir,
        controller: false,
        rateLimit: false,
      });
      try {
        // Whoever ticks first leads; the other one's ticks do nothing while the leader lives (and ticks: on SQLite
        // each tick renews its lease, and 60 s pass between these decisions).
        const first = await decide(phase + INTERVAL);
        assert.deepEqual(await decide(phase + 2 * INTERVAL - 1), [], 'not due yet');
        const second = await decide(phase + 2 * INTERVAL, other);
        assert.equal(first.length, 1);
        assert.deepEqual(second, []);
        await app.rolloutController.stop();
        const takeover = await decide(phase + 3 * INTERVAL, other);
        assert.equal(takeover.length, 1, 'after the leader resigns, another collector takes over');
      } finally {
        await other.close();
      }
    });

    if (kind === 'sqlite') {
      test('with SQLite a collector that stops ticking without resigning loses the lease once it expires', async () => {
        const other = await buildApp({
          storage: store.options,
          dataDir: store.dataDir,
          controller: false,
          rateLimit: false,
        });
        try {
          const [a, b] = [app.storage.rollout, other.storage.rollout];
          const t = Date.now();
          assert.equal(await a.lead(t), true, 'the first to ask leads');
          assert.equal(await a.lead(t + 1000), true, 'and renews');
          // The leader goes silent (a crashed process does not resign): its lease holds until it expires.
          assert.equal(await b.lead(t + 1000 + CONTROLLER_LEASE_MS - 1), false);
          assert.equal(
            await b.lead(t + 1000 + CONTROLLER_LEASE_MS),
            true,
            'another collector takes over once the lease has expired',
          );
          assert.equal(
            await a.lead(t + 1000 + CONTROLLER_LEASE_MS + 1),
            false,
            'the old leader does not come back while the new one holds it',
          );
          await b.resign();
          assert.equal(await a.lead(t + 1000 + CONTROLLER_LEASE_MS + 2), true, 'a resigned lease is free at once');
          await a.resign();
        } finally {
          await other.close();
        }
      });
    }

    if (kind === 'postgres') {
      test('with PostgreSQL each collector keeps one leadership connection, replaced only when it fails and released on close', async () => {
        const { schema } = (store.options as { postgres: { schema: string } }).postgres;
        await app.rolloutController.stop();
        const build = () =>
          buildApp({ storage: store.options, dataDir: store.dataDir, controller: false, rateLimit: false });
        const a = await build();
        const b = await build();
        const admin = new pg.Client({ connectionString: PG_URL });
        await admin.connect();
        const backends = async () =>
          (
            await admin.query<{ pid: number }>(
              'SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid',
              [`edgeloop-controller:${schema}`],
            )
          ).rows.map((r) => r.pid);
        const until = async (what: string, ok: (pids: number[]) => boolean) => {
          for (let i = 0; i < 200 && !ok(await backends()); i++) await sleep(10);
          assert.ok(ok(await backends()), what);
        };
        let open = true;
        try {
          assert.equal(await a.storage.rollout.lead(), true);
          const [leader] = await backends();
          for (let i = 0; i < 3; i++) assert.equal(await b.storage.rollout.lead(), false);
          const both = await backends();
          assert.equal(both.length, 2, 'one connection each');
          for (let i = 0; i < 3; i++) assert.equal(await b.storage.rollout.lead(), false);
          assert.equal(await a.storage.rollout.lead(), true);
          assert.deepEqual(await backends(), both, 'neither collector opens a new connection per try');

          await admin.query('SELECT pg_terminate_backend($1)', [leader]);
          await until("the leader's connection is gone", (pids) => !pids.includes(leader!));
          assert.equal(
            await b.storage.rollout.lead(),
            true,
            'the lock died with the connection: another collector takes over',
          );
          assert.equal(await a.storage.rollout.lead(), false, 'the old leader reconnects and follows');
          assert.equal((await backends()).length, 2);

          open = false;
          await Promise.all([a.close(), b.close()]);
          await until('close releases the leadership connections', (pids) => pids.length === 0);
        } finally {
          if (open) await Promise.all([a.close(), b.close()]);
          await admin.end();
        }
      });
    }
  });
}
