/**
 * How a feature's storage algorithm is written once for both dialects. The feature module (events, labels,
 * batches, golden, registry, rollout, keys) holds the algorithm and the row mapping as a generator that yields
 * the statements it needs (`yield* get(sql.one, [id])`); the dialect file holds only those statements' SQL. A
 * SQLite runner drives the generator synchronously (so a transaction never yields the event loop), a PostgreSQL
 * runner drives it with awaits on one client.
 */

/** Positional parameters (`?` on SQLite, `$1…` on PostgreSQL), or named ones (`@name` in both dialects' SQL). */
export type Params = readonly unknown[] | Readonly<Record<string, unknown>>;

/** One statement an algorithm asks its dialect to run. */
export interface Step {
  /** `rows`: the rows as arrays of column values, for bulk reads. */
  kind: 'all' | 'get' | 'run' | 'rows';
  sql: string;
  params: Params;
}

/** An algorithm over statements, resolving to `T`. */
export type Steps<T> = Generator<Step, T, unknown>;

/** The rows of a query. */
export function* all<R>(sql: string, params: Params = []): Steps<R[]> {
  return (yield { kind: 'all', sql, params }) as R[];
}

/** The first row of a query, or undefined. */
export function* get<R>(sql: string, params: Params = []): Steps<R | undefined> {
  return (yield { kind: 'get', sql, params }) as R | undefined;
}

/** The rows of a query as arrays of column values (bulk reads: no object per row). */
export function* rows<R extends unknown[]>(sql: string, params: Params = []): Steps<R[]> {
  return (yield { kind: 'rows', sql, params }) as R[];
}

/** Runs a write; resolves to the number of rows it changed. */
export function* run(sql: string, params: Params = []): Steps<number> {
  return (yield { kind: 'run', sql, params }) as number;
}

/** Runs algorithms on one dialect: `read` outside a transaction, `write` in one, `snapshot` in a read-only one. */
export interface Runner {
  read<T>(steps: Steps<T>): Promise<T>;
  write<T>(steps: Steps<T>): Promise<T>;
  /** Every read sees one snapshot, and no writer waits on it. */
  snapshot<T>(steps: Steps<T>): Promise<T>;
}

/** Drives `steps` with a synchronous executor. */
export function driveSync<T>(steps: Steps<T>, exec: (step: Step) => unknown): T {
  let next = steps.next();
  while (!next.done) next = steps.next(exec(next.value));
  return next.value;
}

/** Drives `steps` with an asynchronous executor. */
export async function driveAsync<T>(steps: Steps<T>, exec: (step: Step) => Promise<unknown>): Promise<T> {
  let next = steps.next();
  while (!next.done) next = steps.next(await exec(next.value));
  return next.value;
}
