/** Registry storage, written once: immutable model versions with their lineage (artifact bytes are blobs). */
import type { Version } from '@edgeloop/protocol';
import type { ModelSummary, RegistryStore } from '../registry/types.js';
import { all, get, run, type Runner } from './steps.js';

/** The statements registry storage runs; named parameters as each comment gives. */
export interface RegistrySql {
  /** @model, @version, @created_at, @created_by, @parent, @artifacts, @meta; skipped when the version exists. */
  insert: string;
  /** @model, @version → VersionRow */
  get: string;
  /** @model → VersionRow, newest first */
  list: string;
  /** () → SummaryRow per model, by model */
  models: string;
}

/** The statements that read the same in both dialects; each dialect spreads them and adds its summary query. */
export const COMMON_REGISTRY_SQL = {
  insert: `
    INSERT INTO model_versions (model, version, created_at, created_by, parent, artifacts, meta)
    VALUES (@model, @version, @created_at, @created_by, @parent, @artifacts, @meta) ON CONFLICT (model, version) DO NOTHING`,
  get: 'SELECT * FROM model_versions WHERE model = @model AND version = @version',
  list: 'SELECT * FROM model_versions WHERE model = @model ORDER BY seq DESC',
} satisfies Partial<RegistrySql>;

interface VersionRow {
  model: string;
  version: string;
  created_at: number;
  created_by: string;
  artifacts: string;
  meta: string;
}

interface SummaryRow {
  model: string;
  n: number;
  first: number;
  last: number;
  latest: string;
}

const toVersion = (r: VersionRow): Version => ({
  model: r.model,
  version: r.version,
  createdAt: r.created_at,
  createdBy: r.created_by,
  artifacts: JSON.parse(r.artifacts) as Version['artifacts'],
  meta: JSON.parse(r.meta) as Version['meta'],
});

/** The registry store of one dialect. */
export function registryStore(db: Runner, sql: RegistrySql): RegistryStore {
  return {
    async create(v) {
      const changed = await db.read(
        run(sql.insert, {
          model: v.model,
          version: v.version,
          created_at: v.createdAt,
          created_by: v.createdBy,
          parent: v.meta.parent,
          artifacts: JSON.stringify(v.artifacts),
          meta: JSON.stringify(v.meta),
        }),
      );
      return changed > 0;
    },
    async get(model, version) {
      const row = await db.read(get<VersionRow>(sql.get, { model, version }));
      return row && toVersion(row);
    },
    async list(model) {
      return (await db.read(all<VersionRow>(sql.list, { model }))).map(toVersion);
    },
    async models() {
      const rows = await db.read(all<SummaryRow>(sql.models));
      return rows.map((r): ModelSummary => ({
        model: r.model,
        versions: r.n,
        latest: r.latest,
        createdAt: r.first,
        updatedAt: r.last,
      }));
    },
  };
}
