/**
 * The development key set: on a first start with no keys at all (and none seeded from the environment), the
 * CLI creates an admin, a trainer and an ingest key and writes them to `<dataDir>/dev-keys.json`, so that
 * `npm start` can hand them to the demo and the trainer. The file is readable by its owner only.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Storage } from './storage/index.js';
import { createKey } from './keys.js';

export interface DevKeys {
  admin: string;
  trainer: string;
  ingest: string;
}

/** Where the dev key set is written. */
export function devKeysPath(dataDir: string): string {
  return join(dataDir, 'dev-keys.json');
}

/** Creates the dev key set if the store has no key yet; returns it, or `undefined` when keys already exist. */
export async function createDevKeysIfNone(storage: Storage, dataDir: string): Promise<DevKeys | undefined> {
  if ((await storage.keys.list()).length > 0) return undefined;
  const keys: DevKeys = {
    admin: (await createKey(storage, 'admin', 'dev-admin')).secret,
    trainer: (await createKey(storage, 'trainer', 'dev-trainer')).secret,
    ingest: (await createKey(storage, 'ingest', 'dev-ingest')).secret,
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(devKeysPath(dataDir), JSON.stringify(keys, null, 2) + '\n', { mode: 0o600 });
  return keys;
}

/** The dev key set written by an earlier first start, if there is one. */
export function readDevKeys(dataDir: string): DevKeys | undefined {
  try {
    return JSON.parse(readFileSync(devKeysPath(dataDir), 'utf8')) as DevKeys;
  } catch {
    return undefined;
  }
}
