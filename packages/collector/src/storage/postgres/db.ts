/**
 * The scale-out store's connection pool. Any number of stateless collectors share one PostgreSQL; `schema`
 * (search_path) lets tests and tenants keep their tables apart.
 */
import pg from 'pg';
import { StorageUnavailableError } from '../types.js';
import type { Migration } from '../migrations.js';
import { driveAsync, type Runner, type Step } from '../steps.js';

export type PgPool = pg.Pool;
export type PgClient = pg.PoolClient;

export interface PostgresOptions {
  url: string;
  /** Schema to create and use (search_path); default `public`. */
  schema?: string;
  poolSize?: number;
  /** Milliseconds to wait for a connection before answering 503. */
  connectTimeoutMs?: number;
  /** Milliseconds a statement may run before it is cancelled. */
  statementTimeoutMs?: number;
}

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

// BIGINT columns hold milliseconds, revisions and sequence numbers, all far below 2^53: read them as numbers
// once, here, instead of casting each row. Scoped to this pool, so other pg users in the process keep strings.
const INT8_OID = 20;
const parseInt8 = (value: string) => Number(value);
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? parseInt8
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

// SQLSTATE classes that mean "not now" rather than "this query is wrong": connection exceptions (08), out of
// resources (53), operator intervention (57P: terminated, shutting down), system errors (58), a statement
// cancelled by statement_timeout while waiting on a lock (57014), lock not available (55P03), and
// serialization failures and deadlocks (40001, 40P01), which succeed when retried.
const UNAVAILABLE_SQLSTATE = /^(08|53|57P|58)|^(57014|55P03|40001|40P01)$/;
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

/**
 * Whether `err` means the database cannot be reached now. By class and code only: the server's errors are
 * `DatabaseError`s with a SQLSTATE; sockets fail with a system error code; and pg and pg-pool report a lost or
 * timed-out connection, or a pool already ended, as a plain `Error` with no code (everything else raised in a
 * store carries a class or a code of its own).
 */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof pg.DatabaseError) return UNAVAILABLE_SQLSTATE.test(err.code ?? '');
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return UNAVAILABLE_SQLSTATE.test(code) || NETWORK_CODES.has(code);
  return err instanceof Error && err.constructor === Error;
}

/** Awaits `fn`, turning availability errors into `StorageUnavailableError`. */
export async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isUnavailable(err)) {
      throw new StorageUnavailableError(`postgres: ${(err as Error).message}`, { cause: err });
    }
    throw err;
  }
}

export function openPostgres(options: PostgresOptions): PgPool {
  const schema = options.schema ?? 'public';
  if (!SCHEMA_RE.test(schema)) throw new Error(`invalid PostgreSQL schema name "${schema}"`);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
    statement_timeout: options.statementTimeoutMs ?? 30_000,
    options: `-c search_path=${schema}`,
    types,
  });
  // An idle client's error (the server went away) must not crash the process; the next query reports it.
  pool.on('error', () => {});
  return pool;
}

/** Runs `fn` in one transaction on one client; commits before resolving. */
export async function inTransaction<T>(pool: PgPool, fn: (client: PgClient) => Promise<T>): Promise<T> {
  return guard(async () => {
    const client = await pool.connect();
    // While checked out, a client has no pool listener: its server going away (a restart, a terminated backend)
    // must fail this transaction (its query rejects), not crash the process with an unhandled 'error' event.
    let lost: Error | undefined;
    const onError = (err: Error) => (lost = err);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.removeListener('error', onError);
      // A lost connection is destroyed, not handed to the next transaction.
      client.release(lost);
    }
  });
}

/** Creates the schema and applies pending migrations under an advisory lock, so concurrent collectors agree. */
export async function migratePostgres(pool: PgPool, schema: string, migrations: readonly Migration[]): Promise<void> {
  await inTransaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`edgeloop-migrate:${schema}`]);
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)');
    const { rows } = await c.query<{ name: string }>('SELECT name FROM schema_migrations');
    const applied = new Set(rows.map((r) => r.name));
    for (const m of migrations) {
      if (applied.has(m.name)) continue;
      await c.query(m.sql);
      await c.query('INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)', [m.name, Date.now()]);
    }
  });
}

// Named parameters (`@name`, as SQLite writes them) become `$n` once per statement.
const numbered = new Map<string, { sql: string; names: string[] }>();
function positional(sql: string): { sql: string; names: string[] } {
  let found = numbered.get(sql);
  if (!found) {
    const names: string[] = [];
    const text = sql.replace(/@([A-Za-z_][A-Za-z0-9_]*)/g, (_m, name: string) => {
      const at = names.indexOf(name);
      return `$${at >= 0 ? at + 1 : names.push(name)}`;
    });
    numbered.set(sql, (found = { sql: text, names }));
  }
  return found;
}

/** Runs one statement of a feature algorithm on `c`. */
async function exec(c: PgPool | PgClient, step: Step): Promise<unknown> {
  let { sql, params } = step;
  if (!Array.isArray(params)) {
    const named = positional(sql);
    const values = params as Readonly<Record<string, unknown>>;
    sql = named.sql;
    params = named.names.map((n) => values[n]);
  }
  const values = (params as unknown[]).length > 0 ? (params as unknown[]) : undefined;
  if (step.kind === 'rows') return (await c.query({ text: sql, values, rowMode: 'array' })).rows;
  // Without values the simple protocol runs it, so one step may hold several statements (SET LOCAL …; …).
  const r = await c.query(sql, values);
  return step.kind === 'run' ? (r.rowCount ?? 0) : step.kind === 'get' ? r.rows[0] : r.rows;
}

/** Runs feature algorithms on `pool`: reads on any connection, writes in one transaction on one client. */
export function postgresRunner(pool: PgPool): Runner {
  return {
    read: (steps) => guard(() => driveAsync(steps, (step) => exec(pool, step))),
    write: (steps) => inTransaction(pool, (c) => driveAsync(steps, (step) => exec(c, step))),
    // One snapshot for every read and no lock: a preview never waits on a freeze, nor holds one up.
    snapshot: (steps) =>
      inTransaction(pool, async (c) => {
        await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
        return driveAsync(steps, (step) => exec(c, step));
      }),
  };
}
