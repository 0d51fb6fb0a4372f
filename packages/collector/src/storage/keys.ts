/** API key storage, written once: keys are stored by the sha256 of their secret, and revoked, never deleted. */
import type { KeyRecord, KeyStore, Scope } from './types.js';
import { all, get, run, type Runner } from './steps.js';

// The same SQL in both dialects.
const sql = {
  /** Skipped when the hash is stored already. */
  insert: `
    INSERT INTO api_keys (id, name, scope, hash, created_at) VALUES (@id, @name, @scope, @hash, @created_at)
    ON CONFLICT (hash) DO NOTHING`,
  byHash: 'SELECT * FROM api_keys WHERE hash = @hash',
  list: 'SELECT * FROM api_keys ORDER BY created_at, id',
  /** Revokes the active key with that id or name. */
  revoke: 'UPDATE api_keys SET revoked_at = @at WHERE (id = @key OR name = @key) AND revoked_at IS NULL',
};

interface KeyRow {
  id: string;
  name: string;
  scope: Scope;
  hash: string;
  created_at: number;
  revoked_at: number | null;
}

const toKey = (r: KeyRow): KeyRecord & { hash: string } => ({
  id: r.id,
  name: r.name,
  scope: r.scope,
  hash: r.hash,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

const withoutHash = (r: KeyRow): KeyRecord => {
  const { hash: _hash, ...rest } = toKey(r);
  return rest;
};

/** The key store of one dialect. */
export function keyStore(db: Runner): KeyStore {
  return {
    async create(k) {
      await db.read(run(sql.insert, { id: k.id, name: k.name, scope: k.scope, hash: k.hash, created_at: k.createdAt }));
      return withoutHash((await db.read(get<KeyRow>(sql.byHash, { hash: k.hash })))!);
    },
    async findByHash(hash) {
      const row = await db.read(get<KeyRow>(sql.byHash, { hash }));
      return row && toKey(row);
    },
    async list() {
      return (await db.read(all<KeyRow>(sql.list))).map(withoutHash);
    },
    async revoke(idOrName, at) {
      return (await db.read(run(sql.revoke, { at, key: idOrName }))) > 0;
    },
  };
}
