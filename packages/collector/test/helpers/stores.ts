/**
 * Every collector suite runs on both stores: a fresh SQLite file in a temp dir, and a fresh schema in the
 * PostgreSQL at DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test). A missing PostgreSQL fails
 * the suite with a message that says how to start it; it never skips.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { buildApp, openStorage, type App, type CollectorConfig, type Storage } from '@edgeloop/collector';

export const PG_URL =
  process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export const KEYS = {
  admin: 'test-admin-key-0123456789abcdef',
  trainer: 'test-trainer-key-0123456789abcdef',
  ingest: 'test-ingest-key-0123456789abcdef',
} as const;

export type StoreKind = 'sqlite' | 'postgres';
export const STORE_KINDS: StoreKind[] = ['sqlite', 'postgres'];

export interface TestStore {
  kind: StoreKind;
  /** What `buildApp({ storage })` takes to open this store (a new connection each time). */
  options: { sqlite: { path: string } } | { postgres: { url: string; schema: string } };
  dataDir: string;
  open(): Storage;
  /** Removes the temp dir / drops the schema. */
  destroy(): Promise<void>;
}

async function assertPostgres(): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${PG_URL} (${(err as Error).message}). Start it with ` +
        `"pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start" or set TEST_DATABASE_URL.`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}

/** A fresh, empty store of this kind. */
export async function makeStore(kind: StoreKind): Promise<TestStore> {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeloop-test-'));
  if (kind === 'sqlite') {
    const options = { sqlite: { path: join(dataDir, 'edgeloop.db') } };
    return {
      kind,
      options,
      dataDir,
      open: () => openStorage(options),
      destroy: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  await assertPostgres();
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const options = { postgres: { url: PG_URL, schema } };
  return {
    kind,
    options,
    dataDir,
    open: () => openStorage(options),
    destroy: async () => {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Builds an app on a fresh store with the test keys seeded; `close()` also destroys the store. */
export async function makeApp(
  kind: StoreKind,
  config: CollectorConfig = {},
): Promise<{ app: App; store: TestStore; close(): Promise<void> }> {
  const store = await makeStore(kind);
  const app = await buildApp({
    storage: store.options,
    dataDir: store.dataDir,
    seedKeys: KEYS,
    controller: false,
    rateLimit: false,
    ...config,
  });
  return {
    app,
    store,
    async close() {
      await app.close();
      await store.destroy();
    },
  };
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
