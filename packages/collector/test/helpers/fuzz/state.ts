/**
 * What a store holds, read straight from its database (a second connection, not the collector's): a fingerprint
 * to compare before and after a request (a refused request must change nothing), and single rows for reading
 * back what an accepted request stored.
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { TestStore } from '../stores.js';

/** Tables that only grow (or are large): their row count stands for their content. */
const COUNTED = new Set(['events', 'batch_examples', 'artifacts', 'rollout_audit', 'model_versions', 'batches']);

export interface StoreReader {
  /** A digest of everything the store holds. */
  fingerprint(): Promise<string>;
  /** Rows of `sql` (`?` placeholders on both stores). */
  rows(sql: string, ...args: unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

function countFiles(dir: string): number {
  let n = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const p = join(dir, name);
    n += statSync(p).isDirectory() ? countFiles(p) : 1;
  }
  return n;
}

/** Opens a reader on `store` (after the app has migrated it). */
export async function openReader(store: TestStore): Promise<StoreReader> {
  if ('sqlite' in store.options) {
    const db = new Database(store.options.sqlite.path, { readonly: true, fileMustExist: true });
    const tables = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as {
        name: string;
      }[]
    ).map((t) => t.name);
    const dataDir = store.dataDir;
    return {
      async fingerprint() {
        const h = createHash('sha256');
        for (const t of tables) {
          const sql = COUNTED.has(t) ? `SELECT count(*) AS n FROM "${t}"` : `SELECT * FROM "${t}" ORDER BY rowid`;
          h.update(
            `${t}:${JSON.stringify(db.prepare(sql).all(), (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v))}\n`,
          );
        }
        h.update(`files:${countFiles(join(dataDir, 'artifacts'))}`);
        return h.digest('hex');
      },
      async rows(sql, ...args) {
        return db.prepare(sql).all(...args) as Record<string, unknown>[];
      },
      async close() {
        db.close();
      },
    };
  }
  const { url, schema } = store.options.postgres;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`SET search_path TO ${schema}`);
  const tables = (
    await client.query<{ t: string }>(
      'SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [schema],
    )
  ).rows.map((r) => r.t);
  const parts = tables.map((t) =>
    COUNTED.has(t)
      ? `(SELECT count(*)::text FROM "${t}")`
      : `(SELECT md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM "${t}" x)`,
  );
  const fingerprintSql = `SELECT concat_ws('|', ${parts.join(', ')}) AS f`;
  return {
    async fingerprint() {
      const r = await client.query<{ f: string }>(fingerprintSql);
      return createHash('sha256')
        .update(`${tables.join(',')}:${r.rows[0]!.f}`)
        .digest('hex');
    },
    async rows(sql, ...args) {
      let i = 0;
      return (
        await client.query(
          sql.replace(/\?/g, () => `$${++i}`),
          args,
        )
      ).rows as Record<string, unknown>[];
    },
    async close() {
      await client.end();
    },
  };
}
