/**
 * Training-lease failover and claim rate, on SQLite and PostgreSQL, through real collectors on real ports.
 *
 * Takeover: trainer A claims a model's lease (ttl LEASE_TTL_MS) through collector 1 and renews it every third of
 * the ttl, as a watch does; at a random moment it dies (stops renewing, never releases). Trainer B, polling every
 * POLL_MS through collector 2, claims it as soon as it expired. Takeover time = B's grant − A's death; it is the ttl
 * minus the time since A's last renewal, plus up to one poll. `after expiry` = B's grant − A's lease expiry (the
 * poll delay and the claim's round trip).
 *
 * Claim rate: WORKERS clients, each on a model of its own, claim and release in a loop for RATE_MS, spread over
 * 1 collector and then 2 collectors on one database; and the same clients all on one model (contended: exactly
 * one holds it at a time, the others get 409 EL_LEASE_HELD).
 *
 * Usage: npm run bench -- lease   (LEASE_TRIALS=8, LEASE_TTL_MS=2000, LEASE_POLL_MS=200; DATABASE_URL for PostgreSQL)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { call, claimLease, releaseLease, renewLease, ApiError, type Lease } from '@edgeloop/protocol';
import { buildApp, type App, type StorageOptions } from '@edgeloop/collector';
import { percentile, report, type Row } from './report.js';
import { dropSchema } from './pg.js';

const PG_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TRIALS = Number(process.env.LEASE_TRIALS ?? 8);
const TTL = Number(process.env.LEASE_TTL_MS ?? 2000);
const POLL = Number(process.env.LEASE_POLL_MS ?? 200);
const WORKERS = 16;
const RATE_MS = 3000;
const KEY = 'bench-trainer-key-0123456789abcdef';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function collectors(storage: StorageOptions, dataDir: string): Promise<{ urls: string[]; apps: App[] }> {
  const apps: App[] = [];
  const urls: string[] = [];
  for (let i = 0; i < 2; i++) {
    const app = await buildApp({
      storage,
      dataDir,
      seedKeys: { trainer: KEY },
      controller: false,
      rateLimit: false,
      logger: false,
    });
    urls.push(await app.listen({ host: '127.0.0.1', port: 0 }));
    apps.push(app);
  }
  return { urls, apps };
}

const claim = (url: string, model: string, holder: string) =>
  call(claimLease, { baseUrl: url, key: KEY, params: { model }, body: { holder, ttlMs: TTL } });

/** One takeover: A holds and dies, B polls; B's grant − A's death, and B's grant − A's expiry. */
async function takeover(urls: string[], model: string): Promise<{ afterDeath: number; afterExpiry: number }> {
  let lease: Lease = await claim(urls[0]!, model, 'trainer-a');
  const dieAt = Date.now() + TTL + Math.random() * TTL;
  const renewing = (async () => {
    while (Date.now() + TTL / 3 < dieAt) {
      await sleep(TTL / 3);
      lease = await call(renewLease, {
        baseUrl: urls[0]!,
        key: KEY,
        params: { model, leaseId: lease.leaseId },
        body: { ttlMs: TTL },
      });
    }
    await sleep(Math.max(0, dieAt - Date.now()));
  })();
  const polling = (async () => {
    for (;;) {
      try {
        const got = await claim(urls[1]!, model, 'trainer-b');
        return { got, at: Date.now() };
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 'EL_LEASE_HELD')) throw e;
      }
      await sleep(POLL);
    }
  })();
  await renewing;
  const diedAt = Date.now();
  const { got, at } = await polling;
  if (got.attempt !== lease.attempt + 1) throw new Error(`takeover attempt ${got.attempt}, want ${lease.attempt + 1}`);
  await call(releaseLease, { baseUrl: urls[1]!, key: KEY, params: { model, leaseId: got.leaseId } });
  return { afterDeath: at - diedAt, afterExpiry: at - lease.expiresAt };
}

/** Claim (and release, when granted) in a loop from WORKERS clients for RATE_MS; answers per second. */
async function rate(urls: string[], contended: boolean): Promise<{ perSec: number; granted: number; p99: number }> {
  const end = Date.now() + RATE_MS;
  let answers = 0;
  let granted = 0;
  const latencies: number[] = [];
  await Promise.all(
    [...Array(WORKERS).keys()].map(async (w) => {
      const url = urls[w % urls.length]!;
      const model = contended ? 'contended' : `m-${w}`;
      while (Date.now() < end) {
        const t0 = performance.now();
        try {
          const lease = await claim(url, model, `w-${w}`);
          granted++;
          await call(releaseLease, { baseUrl: url, key: KEY, params: { model, leaseId: lease.leaseId } });
          answers++;
        } catch (e) {
          if (!(e instanceof ApiError && e.code === 'EL_LEASE_HELD')) throw e;
        }
        answers++;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { perSec: Math.round(answers / (RATE_MS / 1000)), granted, p99: percentile(latencies, 99) };
}

const rows: Row[] = [];
for (const kind of ['sqlite', 'postgres'] as const) {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeloop-lease-bench-'));
  const schema = `bench_lease_${randomBytes(4).toString('hex')}`;
  const storage: StorageOptions =
    kind === 'sqlite' ? { sqlite: { path: join(dataDir, 'edgeloop.db') } } : { postgres: { url: PG_URL, schema } };
  const { urls, apps } = await collectors(storage, dataDir);
  try {
    const trials: { afterDeath: number; afterExpiry: number }[] = [];
    for (let i = 0; i < TRIALS; i++) trials.push(await takeover(urls, `takeover-${i}`));
    const deaths = trials.map((t) => t.afterDeath);
    const expiries = trials.map((t) => t.afterExpiry);
    rows.push({
      store: kind,
      measure: `takeover after the holder dies (ttl ${TTL} ms, poll ${POLL} ms, ${TRIALS} trials)`,
      'takeover p50 ms': Math.round(percentile(deaths, 50)),
      'takeover max ms': Math.round(Math.max(...deaths)),
      'after expiry p50 ms': Math.round(percentile(expiries, 50)),
      'after expiry max ms': Math.round(Math.max(...expiries)),
    });
    for (const [label, list] of [
      ['1 collector', urls.slice(0, 1)],
      ['2 collectors', urls],
    ] as const) {
      const r = await rate(list, false);
      rows.push({
        store: kind,
        measure: `claim + release, ${WORKERS} clients on ${WORKERS} models, ${label}`,
        'requests/s': r.perSec,
        'p99 ms': Math.round(r.p99 * 10) / 10,
      });
    }
    const c = await rate(urls, true);
    rows.push({
      store: kind,
      measure: `claims, ${WORKERS} clients on 1 model, 2 collectors (${c.granted} granted)`,
      'requests/s': c.perSec,
      'p99 ms': Math.round(c.p99 * 10) / 10,
    });
  } finally {
    for (const app of apps) await app.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (kind === 'postgres') {
      await dropSchema(PG_URL, schema);
    }
  }
}
report('lease', rows, { ttlMs: TTL, pollMs: POLL, trials: TRIALS, workers: WORKERS, rateMs: RATE_MS });
