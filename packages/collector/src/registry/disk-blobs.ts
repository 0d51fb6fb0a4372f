/**
 * Artifacts on local disk under `<dataDir>/artifacts/<aa>/<sha256>`: the embedded store's blob store. Files are
 * written to a temp name, fsynced and renamed, so a reader never sees half an artifact and a crash leaves none.
 */
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SHA256_RE } from '@edgeloop/protocol';
import type { BlobStore } from './types.js';

/** A blob store in a directory; only 64-hex sha256 strings ever become file names. */
export function diskBlobStore(root: string): BlobStore {
  const pathOf = (sha256: string): string => {
    // The only path ever built from a request: anything but lower-case hex never reaches the file system.
    if (!SHA256_RE.test(sha256)) throw new Error(`not a sha256: ${JSON.stringify(sha256)}`);
    return join(root, sha256.slice(0, 2), sha256);
  };
  return {
    async put(sha256, bytes) {
      const path = pathOf(sha256);
      if (await exists(path)) return;
      await mkdir(join(root, sha256.slice(0, 2)), { recursive: true });
      const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
      try {
        await rename(tmp, path);
      } catch (err) {
        await unlink(tmp).catch(() => {});
        throw err;
      }
    },
    async get(sha256) {
      try {
        return await readFile(pathOf(sha256));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    async has(sha256) {
      return exists(pathOf(sha256));
    },
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
