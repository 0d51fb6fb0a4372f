/** SQL for the `model_versions` table on SQLite (artifact bytes live on disk, see registry/disk-blobs.ts). */
import type { Migration } from '../migrations.js';
import { versionsTable, SQLITE_TYPES } from '../schema.js';
import type { RegistrySql } from '../registry.js';

export const registryMigrations: Migration[] = [
  {
    name: '201_model_versions',
    sql: `${versionsTable(SQLITE_TYPES)}
    `,
  },
];

export const registrySql: RegistrySql = {
  insert: `
    INSERT INTO model_versions (model, version, created_at, created_by, parent, artifacts, meta)
    VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (model, version) DO NOTHING`,
  get: 'SELECT * FROM model_versions WHERE model = ? AND version = ?',
  list: 'SELECT * FROM model_versions WHERE model = ? ORDER BY seq DESC',
  models: `
    SELECT m.model, m.n, m.first, m.last, (SELECT version FROM model_versions WHERE seq = m.top) AS latest
    FROM (SELECT model, count(*) AS n, min(created_at) AS first, max(created_at) AS last, max(seq) AS top
          FROM model_versions GROUP BY model) m
    ORDER BY m.model`,
};
