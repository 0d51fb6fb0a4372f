/** SQL for the `model_versions` table on SQLite (artifact bytes live on disk, see registry/disk-blobs.ts). */
import type { Migration } from '../migrations.js';
import { versionsTable, SQLITE_TYPES } from '../schema.js';
import { COMMON_REGISTRY_SQL, type RegistrySql } from '../registry.js';

export const registryMigrations: Migration[] = [
  {
    name: '201_model_versions',
    sql: `${versionsTable(SQLITE_TYPES)}
    `,
  },
];

export const registrySql: RegistrySql = {
  ...COMMON_REGISTRY_SQL,
  models: `
    SELECT m.model, m.n, m.first, m.last, (SELECT version FROM model_versions WHERE seq = m.top) AS latest
    FROM (SELECT model, count(*) AS n, min(created_at) AS first, max(created_at) AS last, max(seq) AS top
          FROM model_versions GROUP BY model) m
    ORDER BY m.model`,
};
