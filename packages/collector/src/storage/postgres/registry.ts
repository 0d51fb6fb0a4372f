/** SQL for the `model_versions` and `artifacts` tables on PostgreSQL: stateless collectors share both. */
import type { Migration } from '../migrations.js';
import { versionsTable, POSTGRES_TYPES } from '../schema.js';
import type { BlobStore } from '../../registry/types.js';
import { COMMON_REGISTRY_SQL, type RegistrySql } from '../registry.js';
import { guard, type PgPool } from './db.js';

export const registryMigrations: Migration[] = [
  {
    name: '201_model_versions',
    sql: `${versionsTable(POSTGRES_TYPES)}
      CREATE TABLE artifacts (
        sha256 TEXT PRIMARY KEY,
        bytes BYTEA NOT NULL,
        size BIGINT NOT NULL,
        created_at BIGINT NOT NULL
      );
    
    `,
  },
];

export const registrySql: RegistrySql = {
  ...COMMON_REGISTRY_SQL,
  models: `
    SELECT m.model, m.n, m.first, m.last, (SELECT version FROM model_versions WHERE seq = m.top) AS latest
    FROM (SELECT model, count(*)::int AS n, min(created_at) AS first, max(created_at) AS last, max(seq) AS top
          FROM model_versions GROUP BY model) m
    ORDER BY m.model`,
};

/** Artifact bytes in PostgreSQL, so any collector can serve any artifact. */
export function postgresBlobStore(pool: PgPool): BlobStore {
  return {
    async put(sha256, bytes) {
      await guard(() =>
        pool.query(
          'INSERT INTO artifacts (sha256, bytes, size, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING',
          [sha256, bytes, bytes.length, Date.now()],
        ),
      );
    },
    async get(sha256) {
      const r = await guard(() =>
        pool.query<{ bytes: Buffer }>('SELECT bytes FROM artifacts WHERE sha256 = $1', [sha256]),
      );
      return r.rows[0]?.bytes;
    },
    async has(sha256) {
      const r = await guard(() => pool.query('SELECT 1 FROM artifacts WHERE sha256 = $1', [sha256]));
      return (r.rowCount ?? 0) > 0;
    },
  };
}
