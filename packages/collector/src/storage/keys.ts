/** API key storage, written once: keys are stored by the sha256 of their secret, and revoked, never deleted. */
import type { KeyRecord, KeyStore, Scope } from './types.js';
import { all, get, run, type Runner } from './steps.js';

/** The statements key storage runs; parameters in the order each comment gives. */
export interface KeySql {
  /** (id, name, scope, hash, created_at), skipped when the hash is stored already. */
  insert: string;
  /** (hash) → KeyRow */
  byHash: string;
  /** () → KeyRow, oldest first */
  list: string;
  /** (revoked_at, id, name): revokes the active key with that id or name. */
  revoke: string;
}

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
export function keyStore(db: Runner, sql: KeySql): KeyStore {
  return {
    async create(k) {
      await db.read(run(sql.insert, [k.id, k.name, k.scope, k.hash, k.createdAt]));
      return withoutHash((await db.read(get<KeyRow>(sql.byHash, [k.hash])))!);
    },
    async findByHash(hash) {
      const row = await db.read(get<KeyRow>(sql.byHash, [hash]));
      return row && toKey(row);
    },
    async list() {
      return (await db.read(all<KeyRow>(sql.list))).map(withoutHash);
    },
    async revoke(idOrName, at) {
      return (await db.read(run(sql.revoke, [at, idOrName, idOrName]))) > 0;
    },
  };
}
