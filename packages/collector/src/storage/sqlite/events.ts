/** SQL for the `events` and `api_keys` tables on SQLite. */
import type { Event } from '@edgeloop/protocol';
import type { EventStore, KeyRecord, KeyStore, Scope } from '../types.js';
import type { Migration } from '../migrations.js';
import { guard, rememberConnection, type SqliteDb } from './db.js';
import type { EventWriter } from './event-writer.js';

export const eventMigrations: Migration[] = [
  {
    name: '001_events',
    sql: `
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        device_id TEXT NOT NULL,
        type TEXT NOT NULL,
        ts INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        input_hash TEXT,
        prediction_id TEXT,
        label TEXT,
        confidence REAL,
        reason TEXT,
        body TEXT NOT NULL
      );
      CREATE INDEX events_model_type ON events (model, type, seq);
      CREATE INDEX events_prediction ON events (prediction_id) WHERE prediction_id IS NOT NULL;
      CREATE INDEX events_input_hash ON events (model, input_hash) WHERE input_hash IS NOT NULL;
    `,
  },
  {
    name: '002_api_keys',
    sql: `
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        scope TEXT NOT NULL CHECK (scope IN ('ingest', 'trainer', 'admin')),
        hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      );
    `,
  },
  {
    // Predictions are looked up by input hash only for the inputs in question (the labeled ones at a freeze,
    // a review page), but every stored prediction pays for the index. A random 64-character key dirties its own
    // B-tree page on nearly every insert; an 8-character prefix (32 bits: about one stray row per lookup per 4
    // billion stored) makes the index a fifth of the size, so far fewer pages are written per commit. Queries
    // match the prefix through this index and then compare the whole hash (`inputHashIn`).
    name: '003_events_input_key',
    sql: `
      DROP INDEX events_input_hash;
      CREATE INDEX events_input_key ON events (substr(input_hash, 1, 8)) WHERE input_hash IS NOT NULL;
    `,
  },
];

/**
 * `input_hash` of the row aliased `alias` is one of the JSON array of hashes in `@hashes`, in the form that uses
 * `events_input_key` (the prefix) and then checks the whole hash. Name the index (`INDEXED BY events_input_key`):
 * without statistics the planner prefers the two-column `(model, type, …)` indexes, a scan of the model's events.
 */
export const inputHashIn = (alias: string) =>
  `substr(${alias}.input_hash, 1, 8) IN (SELECT substr(value, 1, 8) FROM json_each(@hashes)) AND ${alias}.input_hash IN (SELECT value FROM json_each(@hashes))`;

export function sqliteEventStore(db: SqliteDb, writer: EventWriter): EventStore {
  const getOne = db.prepare('SELECT body FROM events WHERE id = ?').pluck();
  return rememberConnection<EventStore>(db, {
    async insert(events, receivedAt) {
      if (events.length === 0) return { inserted: 0, duplicates: 0 };
      return writer.insert(events, receivedAt);
    },
    expectWrite() {
      return writer.expect();
    },
    async get(id) {
      const body = guard(() => getOne.get(id)) as string | undefined;
      return body === undefined ? undefined : (JSON.parse(body) as Event);
    },
    async count(filter = {}) {
      const where: string[] = [];
      const args: string[] = [];
      if (filter.model) (where.push('model = ?'), args.push(filter.model));
      if (filter.type) (where.push('type = ?'), args.push(filter.type));
      const sql = `SELECT count(*) FROM events${where.length ? ' WHERE ' + where.join(' AND ') : ''}`;
      return guard(() => db.prepare(sql).pluck().get(...args)) as number;
    },
  });
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

export function sqliteKeyStore(db: SqliteDb): KeyStore {
  return {
    async create(k) {
      guard(() =>
        db
          .prepare('INSERT INTO api_keys (id, name, scope, hash, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING')
          .run(k.id, k.name, k.scope, k.hash, k.createdAt),
      );
      const row = guard(() => db.prepare('SELECT * FROM api_keys WHERE hash = ?').get(k.hash)) as KeyRow;
      const { hash: _hash, ...rest } = toKey(row);
      return rest;
    },
    async findByHash(hash) {
      const row = guard(() => db.prepare('SELECT * FROM api_keys WHERE hash = ?').get(hash)) as KeyRow | undefined;
      return row && toKey(row);
    },
    async list() {
      const rows = guard(() => db.prepare('SELECT * FROM api_keys ORDER BY created_at, id').all()) as KeyRow[];
      return rows.map((r) => {
        const { hash: _hash, ...rest } = toKey(r);
        return rest;
      });
    },
    async revoke(idOrName, at) {
      const r = guard(() =>
        db.prepare('UPDATE api_keys SET revoked_at = ? WHERE (id = ? OR name = ?) AND revoked_at IS NULL').run(at, idOrName, idOrName),
      );
      return r.changes > 0;
    },
  };
}
