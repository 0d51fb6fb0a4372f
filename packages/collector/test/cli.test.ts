import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runCli as cliMain } from '@edgeloop/collector/internal';
import { makeStore, bearer, KEYS, type TestStore } from './helpers/stores.js';
import { startCollector } from './helpers/child.js';

const BIN = fileURLToPath(new URL('../bin/edgeloop-collector.js', import.meta.url));
const NO_SEEDS = { EDGELOOP_ADMIN_KEY: '', EDGELOOP_TRAINER_KEY: '', EDGELOOP_INGEST_KEY: '', DATABASE_URL: '' };

/** Runs the CLI in this process (key commands and argument errors need no separate process). */
async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await cliMain(
    args,
    { ...process.env, ...env },
    { out: (l) => (stdout += l + '\n'), err: (l) => (stderr += l + '\n') },
  );
  return { code, stdout, stderr };
}

async function ingest(url: string, key: string): Promise<number> {
  const r = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(key) },
    body: '{"events":[]}',
  });
  await r.arrayBuffer();
  return r.status;
}

describe('edgeloop-collector CLI (SQLite under --data-dir)', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'edgeloop-cli-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a first start with no keys creates, prints and writes a dev key set; the next start reuses it', async () => {
    const first = await startCollector(['--data-dir', dir], NO_SEEDS);
    let keys: { admin: string; trainer: string; ingest: string };
    try {
      assert.match(first.output(), /First start: created a development key set/);
      const file = join(dir, 'dev-keys.json');
      keys = JSON.parse(readFileSync(file, 'utf8'));
      assert.equal(statSync(file).mode & 0o777, 0o600, 'dev-keys.json is readable by its owner only');
      for (const scope of ['admin', 'trainer', 'ingest'] as const)
        assert.ok(first.output().includes(keys[scope]), `${scope} key printed`);
      assert.equal(await ingest(first.url, keys.ingest), 200);
      assert.ok(existsSync(join(dir, 'edgeloop.db')), 'SQLite lives under --data-dir');
    } finally {
      first.child.kill('SIGTERM');
      assert.equal((await first.exited).code, 0);
    }
    const second = await startCollector(['--data-dir', dir], NO_SEEDS);
    try {
      assert.doesNotMatch(second.output(), /First start/);
      assert.match(second.output(), /Development keys: .*dev-keys\.json/);
      assert.equal(await ingest(second.url, keys.ingest), 200);
      const list = await runCli(['keys', 'list', '--json', '--data-dir', dir], NO_SEEDS);
      assert.deepEqual(
        JSON.parse(list.stdout)
          .map((k: { name: string }) => k.name)
          .sort(),
        ['dev-admin', 'dev-ingest', 'dev-trainer'],
      );
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });

  test('keys create, list and revoke; a created key works at once and a revoked one stops in a running collector', async () => {
    const server = await startCollector(['--data-dir', dir], NO_SEEDS);
    try {
      const created = await runCli(
        ['keys', 'create', '--scope', 'ingest', '--name', 'phone-app', '--json', '--data-dir', dir],
        NO_SEEDS,
      );
      assert.equal(created.code, 0, created.stderr);
      const key = JSON.parse(created.stdout);
      assert.equal(key.scope, 'ingest');
      assert.equal(key.name, 'phone-app');
      assert.match(key.secret, /^eli_[A-Za-z0-9_-]{43}$/);
      assert.equal(await ingest(server.url, key.secret), 200);

      const human = await runCli(['keys', 'list', '--data-dir', dir], NO_SEEDS);
      assert.equal(human.code, 0);
      assert.match(human.stdout, /phone-app/);
      assert.ok(!human.stdout.includes(key.secret), 'list never shows secrets');

      const revoked = await runCli(['keys', 'revoke', 'phone-app', '--data-dir', dir], NO_SEEDS);
      assert.equal(revoked.code, 0, revoked.stderr);
      const listed = JSON.parse((await runCli(['keys', 'list', '--json', '--data-dir', dir], NO_SEEDS)).stdout);
      assert.ok(listed.find((k: { name: string; revokedAt: number | null }) => k.name === 'phone-app').revokedAt > 0);
      // The running collector caches key lookups for up to 5 s.
      let status = 200;
      for (let i = 0; i < 100 && status === 200; i++) {
        status = await ingest(server.url, key.secret);
        if (status === 200) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 401);

      const again = await runCli(['keys', 'revoke', 'phone-app', '--data-dir', dir], NO_SEEDS);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /not found \[EL_NOT_FOUND\]/);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  test('bad arguments print the usage and exit 2', async () => {
    const bad = [
      ['--port', 'abc'],
      ['--nope'],
      ['keys', 'create', '--scope', 'root'],
      ['keys', 'explode'],
      ['frobnicate'],
      ['--trust-proxy', 'nope'],
      ['--trust-proxy=10.0.0.0/99'],
      ['--trust-proxy=-1'],
      ['--trust-proxy', '1'],
      ['--rate-limit', '10'],
      ['--rate-limit', '0/60'],
      ['--rate-limit', 'ten/60'],
      ['--rate-limit', '10/0'],
      ['--retention-days', '0'],
      ['--retention-days', '1.5'],
      ['--retention-days', 'week'],
    ];
    for (const args of bad) {
      const r = await runCli([...args, '--data-dir', dir], NO_SEEDS);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /Usage:/);
    }
  });

  test('--trust-proxy and --rate-limit reach the server: forwarded clients get their own budgets', async () => {
    const server = await startCollector(['--data-dir', dir, '--trust-proxy', 'loopback', '--rate-limit', '2/60'], {
      DATABASE_URL: '',
    });
    try {
      const key = KEYS.ingest;
      const send = async (client: string) => {
        const r = await fetch(`${server.url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': client, ...bearer(key) },
          body: '{"events":[]}',
        });
        await r.arrayBuffer();
        return r.status;
      };
      assert.deepEqual([await send('1.1.1.1'), await send('1.1.1.1'), await send('1.1.1.1')], [200, 200, 429]);
      assert.equal(await send('2.2.2.2'), 200, 'another client behind the same proxy');
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  test('the bin runs from a checkout', () => {
    const r = spawnSync(process.execPath, [BIN, 'keys', 'list', '--json', '--data-dir', dir], {
      env: { ...process.env, ...NO_SEEDS },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(Array.isArray(JSON.parse(r.stdout)));
  });

  test('the bin serves in its own process: kill -9 of its pid frees the port, and events it acked are stored', async () => {
    const server = await startCollector(['--data-dir', dir], { DATABASE_URL: '', EDGELOOP_THREAD_IMPORT: '' }, [
      process.execPath,
      BIN,
    ]);
    const event = {
      id: '01890a5d-ac96-774b-bcce-b302099a8057',
      model: 'm',
      version: 'v1',
      deviceId: 'd1',
      ts: 1,
      type: 'error',
      code: 'X',
      message: 'kill -9',
    };
    const r = await fetch(`${server.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(KEYS.ingest) },
      body: JSON.stringify({ events: [event] }),
    });
    assert.deepEqual(await r.json(), { accepted: 1, duplicates: 0, rejected: [] });
    server.child.kill('SIGKILL');
    await server.exited;
    await assert.rejects(fetch(`${server.url}/healthz`), 'nothing listens on the port once the pid is gone');
    const count = spawnSync(process.execPath, [BIN, 'keys', 'list', '--json', '--data-dir', dir], {
      env: { ...process.env, ...NO_SEEDS },
      encoding: 'utf8',
    });
    assert.equal(count.status, 0, count.stderr);
  });
});

describe('edgeloop-collector CLI (PostgreSQL from DATABASE_URL, seeded keys)', () => {
  let store: TestStore;
  before(async () => (store = await makeStore('postgres')));
  after(() => store.destroy());

  test('DATABASE_URL with ?schema= selects the store; EDGELOOP_*_KEY seeds exist with their scopes; no dev keys', async () => {
    const { url, schema } = (store.options as { postgres: { url: string; schema: string } }).postgres;
    const databaseUrl = `${url}${url.includes('?') ? '&' : '?'}schema=${schema}`;
    const proc = await startCollector(['--data-dir', store.dataDir, '--host', '127.0.0.1'], {
      DATABASE_URL: databaseUrl,
    });
    try {
      assert.match(proc.output(), new RegExp(`postgres .*\\(schema ${schema}\\)`));
      assert.doesNotMatch(proc.output(), /First start/);
      assert.ok(!existsSync(join(store.dataDir, 'dev-keys.json')));
      assert.equal(await ingest(proc.url, KEYS.ingest), 200);
      const models = await fetch(`${proc.url}/readyz`);
      assert.deepEqual(await models.json(), { ok: true, storage: 'postgres' });
      const list = await runCli(['keys', 'list', '--json', '--database-url', databaseUrl]);
      const scopes = Object.fromEntries(
        JSON.parse(list.stdout).map((k: { name: string; scope: string }) => [k.name, k.scope]),
      );
      assert.deepEqual(scopes, { 'seed-admin': 'admin', 'seed-trainer': 'trainer', 'seed-ingest': 'ingest' });
    } finally {
      proc.child.kill('SIGTERM');
      assert.equal((await proc.exited).code, 0);
    }
  });

  test('an unreachable database fails the start with a message and exit 1', async () => {
    const r = await runCli(['--port', '0', '--database-url', 'postgres://postgres@127.0.0.1:1/test'], NO_SEEDS);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unavailable|ECONNREFUSED/i);
  });
});
