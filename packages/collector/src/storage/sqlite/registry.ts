/** SQL for the `model_versions` table on SQLite (artifact bytes live on disk, see registry/disk-blobs.ts). */
import type { Version } from '@edgeloop/protocol';
import type { Migration } from '../migrations.js';
import type { ModelSummary, RegistryStore } from '../../registry/types.js';
import { guard, type SqliteDb } from './db.js';

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

interface VersionRow {
  model: string;
  version: string;
  created_at: number;
  created_by: string;
  artifacts: string;
  meta: string;
}

const toVersion = (r: VersionRow): Version => ({
  model: r.model,
  version: r.version,
  createdAt: r.created_at,
  createdBy: r.created_by,
  artifacts: JSON.parse(r.artifacts) as Version['artifacts'],
  meta: JSON.parse(r.meta) as Version['meta'],
});

export function sqliteRegistryStore(db: SqliteDb): RegistryStore {
  const insert = db.prepare(`
    INSERT INTO model_versions (model, version, created_at, created_by, parent, artifacts, meta)
    VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (model, version) DO NOTHING`);
  const getOne = db.prepare('SELECT * FROM model_versions WHERE model = ? AND version = ?');
  const listOne = db.prepare('SELECT * FROM model_versions WHERE model = ? ORDER BY seq DESC');
  const summaries = db.prepare(`
    SELECT m.model, m.n, m.first, m.last, (SELECT version FROM model_versions WHERE seq = m.top) AS latest
    FROM (SELECT model, count(*) AS n, min(created_at) AS first, max(created_at) AS last, max(seq) AS top
          FROM model_versions GROUP BY model) m
    ORDER BY m.model`);
  return {
    async create(v) {
      const r = guard(() =>
        insert.run(v.model, v.version, v.createdAt, v.createdBy, v.meta.parent, JSON.stringify(v.artifacts), JSON.stringify(v.meta)),
      );
      return r.changes > 0;
    },
    async get(model, version) {
      const row = guard(() => getOne.get(model, version)) as VersionRow | undefined;
      return row && toVersion(row);
    },
    async list(model) {
      return (guard(() => listOne.all(model)) as VersionRow[]).map(toVersion);
    },
    async models() {
      const rows = guard(() => summaries.all()) as { model: string; n: number; first: number; last: number; latest: string }[];
      return rows.map((r): ModelSummary => ({ model: r.model, versions: r.n, latest: r.latest, createdAt: r.first, updatedAt: r.last }));
    },
  };
}
