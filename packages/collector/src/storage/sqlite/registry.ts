/** SQL for the `model_versions` table on SQLite (artifact bytes live on disk, see registry/disk-blobs.ts). */
import type { Migration } from '../migrations.js';
import type { RegistrySql } from '../registry.js';

export const registryMigrations: Migration[] = [
  {
    name: '201_model_versions',
    sql: `
      CREATE TABLE model_versions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        parent TEXT,
        artifacts TEXT NOT NULL,
        meta TEXT NOT NULL,
        UNIQUE (model, version)
      );
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
