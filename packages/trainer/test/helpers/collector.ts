/**
 * A real collector for the trainer's tests: buildApp from @edgeloop/collector on a fresh SQLite data dir,
 * the test keys seeded, listening on a free port. `restart()` closes it and starts it again on the same port and
 * data (the watch-mode test survives that); `close()` removes everything.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, type App } from '@edgeloop/collector';

export const KEYS = {
  admin: 'trainer-test-admin-key-0123456789',
  trainer: 'trainer-test-trainer-key-0123456789',
  ingest: 'trainer-test-ingest-key-0123456789',
} as const;

export interface TestCollector {
  url: string;
  app(): App;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a collector on 127.0.0.1 and a free port. */
export async function startCollector(): Promise<TestCollector> {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeloop-trainer-test-'));
  let port = 0;
  let app: App | undefined;
  const start = async () => {
    app = await buildApp({ dataDir, seedKeys: KEYS, controller: false, rateLimit: false });
    const address = await app.listen({ host: '127.0.0.1', port });
    port = Number(new URL(address).port);
  };
  await start();
  return {
    url: `http://127.0.0.1:${port}`,
    app: () => app!,
    async stop() {
      await app?.close();
      app = undefined;
    },
    start,
    async close() {
      await app?.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
