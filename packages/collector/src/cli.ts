/**
 * `edgeloop-collector`: runs the collector, or manages keys. Flags and environment as the README documents them:
 *   edgeloop-collector [--port 8080] [--host 127.0.0.1] [--data-dir ./.edgeloop] [--database-url postgres://…]
 *                      [--trust-proxy [VALUE]] [--rate-limit MAX/SECONDS|off]
 *   edgeloop-collector keys create --scope ingest|trainer|admin [--name NAME] | keys list | keys revoke <id|name>
 * Errors are caught in one place: the message is printed (the stack only with --debug) and the exit code is 1.
 */
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Scope } from './storage/index.js';
import { openStorage, type StorageOptions } from './storage/index.js';
import { createKey } from './keys.js';
import { createDevKeysIfNone, devKeysPath, readDevKeys } from './dev-keys.js';
import { trustProxyProblem, type CollectorConfig, type TrustProxy } from './config.js';
import { EL_INVALID_CONFIG, EL_NOT_FOUND } from './errors.js';

const USAGE = `Usage:
  edgeloop-collector [--port 8080] [--host 127.0.0.1] [--data-dir ./.edgeloop] [--database-url URL]
                     [--trust-proxy [VALUE]] [--rate-limit MAX/SECONDS|off] [--retention-days N]
  edgeloop-collector keys create --scope ingest|trainer|admin [--name NAME] [--json]
  edgeloop-collector keys list [--json]
  edgeloop-collector keys revoke <id-or-name>

Options:
  --port N            port to listen on (default 8080; 0 picks a free one)
  --host H            address to listen on (default 127.0.0.1)
  --data-dir DIR      SQLite file, artifacts and dev-keys.json (default ./.edgeloop)
  --database-url URL  PostgreSQL instead of SQLite (also DATABASE_URL); ?schema=NAME picks a schema
  --trust-proxy [V]   believe X-Forwarded-For from these proxies: comma-separated addresses and CIDR
                      ranges (loopback, linklocal, uniquelocal too), or true (any sender; also the bare
                      flag); default false: the client is the connection's peer
  --rate-limit R      requests per (key, client IP): MAX/SECONDS (default 6000/60), or off
  --retention-days N  drop events older than N days, except those a batch or a label needs (also
                      EDGELOOP_RETENTION_DAYS); default: keep every event
  --log-level L       fatal|error|warn|info|debug|silent (default info)
  --debug             print stack traces
Environment:
  DATABASE_URL, and EDGELOOP_ADMIN_KEY / EDGELOOP_TRAINER_KEY / EDGELOOP_INGEST_KEY: keys that exist with
  those scopes at start. With none of these and no key in the store, a development key set is created,
  printed and written to <data-dir>/dev-keys.json.`;

class UsageError extends Error {}

const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  'data-dir': { type: 'string' },
  'database-url': { type: 'string' },
  'log-level': { type: 'string' },
  'trust-proxy': { type: 'string' },
  'rate-limit': { type: 'string' },
  'retention-days': { type: 'string' },
  scope: { type: 'string' },
  name: { type: 'string' },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Flags = ReturnType<typeof parse>['values'];

function parse(argv: string[]) {
  // A bare `--trust-proxy` means true; parseArgs wants a value for every string option.
  const args = argv.map((a, i) =>
    a === '--trust-proxy' && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('-')) ? '--trust-proxy=true' : a,
  );
  try {
    return parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** SQLite under the data dir unless a database URL is given; `?schema=` in the URL picks a PostgreSQL schema. */
export function storageFromFlags(
  flags: Flags,
  env: NodeJS.ProcessEnv,
): { options: StorageOptions; dataDir: string; where: string } {
  const dataDir = resolve(flags['data-dir'] ?? './.edgeloop');
  const url = flags['database-url'] ?? env.DATABASE_URL;
  if (!url) {
    const path = join(dataDir, 'edgeloop.db');
    return { options: { sqlite: { path } }, dataDir, where: `sqlite ${path}` };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--database-url is not a URL: ${url}`);
  }
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  const safe = new URL(parsed.href);
  safe.password = safe.password ? '***' : '';
  return {
    options: { postgres: { url: parsed.href, ...(schema ? { schema } : {}) } },
    dataDir,
    where: `postgres ${safe.host}${safe.pathname}${schema ? ` (schema ${schema})` : ''}`,
  };
}

function parsePort(value: string | undefined): number {
  if (value === undefined) return 8080;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be an integer from 0 to 65535, got "${value}"`);
  return port;
}

/** `--trust-proxy`: true, false, or comma-separated addresses and CIDR ranges, checked as `buildApp` does. */
function parseTrustProxy(value: string | undefined): TrustProxy | undefined {
  if (value === undefined) return undefined;
  const hops = /^\d+$/.test(value) ? Number(value) : undefined;
  const trustProxy =
    value === 'true' ? true : value === 'false' ? false : (hops ?? value.split(',').map((e) => e.trim()));
  const problem = trustProxyProblem(trustProxy);
  if (problem !== null) throw new UsageError(`--trust-proxy: ${problem}`);
  return trustProxy as TrustProxy;
}

/** `--retention-days N` (or `EDGELOOP_RETENTION_DAYS`): a whole number of days ≥ 1; undefined keeps every event. */
export function parseRetentionDays(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(`--retention-days must be a whole number of days ≥ 1, got "${value}"`);
  return Number(value);
}

/** `--rate-limit MAX/SECONDS` (e.g. `6000/60`) or `off`. */
function parseRateLimit(value: string | undefined): CollectorConfig['rateLimit'] {
  if (value === undefined) return undefined;
  if (value === 'off') return false;
  const m = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(value);
  const max = Number(m?.[1]);
  const timeWindowMs = Math.round(Number(m?.[2]) * 1000);
  if (!m || !(max > 0) || !(timeWindowMs > 0))
    throw new UsageError(`--rate-limit must be MAX/SECONDS with both above 0 (e.g. 6000/60) or off, got "${value}"`);
  return { max, timeWindowMs };
}

function seedKeysFrom(env: NodeJS.ProcessEnv): { admin?: string; trainer?: string; ingest?: string } {
  const seeds: { admin?: string; trainer?: string; ingest?: string } = {};
  if (env.EDGELOOP_ADMIN_KEY) seeds.admin = env.EDGELOOP_ADMIN_KEY;
  if (env.EDGELOOP_TRAINER_KEY) seeds.trainer = env.EDGELOOP_TRAINER_KEY;
  if (env.EDGELOOP_INGEST_KEY) seeds.ingest = env.EDGELOOP_INGEST_KEY;
  return seeds;
}

async function serve(flags: Flags, env: NodeJS.ProcessEnv, out: (line: string) => void): Promise<number> {
  const { options, dataDir, where } = storageFromFlags(flags, env);
  const seedKeys = seedKeysFrom(env);
  const level = flags['log-level'] ?? 'info';
  const trustProxy = parseTrustProxy(flags['trust-proxy']);
  const rateLimit = parseRateLimit(flags['rate-limit']);
  const retentionDays = parseRetentionDays(flags['retention-days'] ?? env.EDGELOOP_RETENTION_DAYS);
  // Loaded here so that key commands do not load the whole server.
  const { startServer, closeGracefully } = await import('./server.js');
  const running = await startServer({
    port: parsePort(flags.port),
    host: flags.host ?? '127.0.0.1',
    dataDir,
    storage: options,
    seedKeys,
    logger: level === 'silent' ? false : { level },
    ...(trustProxy === undefined ? {} : { trustProxy }),
    ...(rateLimit === undefined ? {} : { rateLimit }),
    ...(retentionDays === undefined ? {} : { retentionDays }),
  });
  if (Object.keys(seedKeys).length === 0) {
    const created = await createDevKeysIfNone(running.app.storage, dataDir);
    if (created) {
      out(`First start: created a development key set (also written to ${devKeysPath(dataDir)}):`);
      for (const [scope, secret] of Object.entries(created)) out(`  ${scope.padEnd(8)} ${secret}`);
    } else if (readDevKeys(dataDir)) {
      out(`Development keys: ${devKeysPath(dataDir)}`);
    }
  }
  out(`edgeloop collector listening on ${running.url} (${where})`);

  await new Promise<void>((done) => {
    // A second signal is ignored on purpose: the drain is already bounded by drainTimeoutMs, and a terminal's
    // Ctrl-C reaches both a wrapper (bin, npm start) and this process.
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', stop).off('SIGINT', stop);
      running.app.log.info({ signal }, 'shutting down: draining in-flight requests');
      out(`${signal}: shutting down`);
      closeGracefully(running.app).then(done, (err: unknown) => {
        running.app.log.error({ err }, 'shutdown failed');
        done();
      });
    };
    process.on('SIGTERM', stop).on('SIGINT', stop);
  });
  return 0;
}

function parseScope(value: string | undefined): Scope {
  if (value === 'ingest' || value === 'trainer' || value === 'admin') return value;
  throw new UsageError('--scope must be ingest, trainer or admin');
}

async function keys(
  flags: Flags,
  positionals: string[],
  env: NodeJS.ProcessEnv,
  out: (line: string) => void,
): Promise<number> {
  const [action, target] = positionals;
  const { options } = storageFromFlags(flags, env);
  if (action !== 'create' && action !== 'list' && action !== 'revoke')
    throw new UsageError('keys needs create, list or revoke');
  if (action === 'revoke' && !target) throw new UsageError('keys revoke needs the key id or name');
  const storage = openStorage(options);
  try {
    await storage.migrate();
    if (action === 'create') {
      const scope = parseScope(flags.scope);
      const { secret, record } = await createKey(storage, scope, flags.name ?? `${scope}-${new Date().toISOString()}`);
      if (flags.json) out(JSON.stringify({ ...record, secret }));
      else out(`Created ${scope} key "${record.name}" (id ${record.id}). The secret is shown once:\n${secret}`);
    } else if (action === 'list') {
      const list = await storage.keys.list();
      if (flags.json) out(JSON.stringify(list));
      else if (list.length === 0) out('No keys.');
      else {
        out(['id'.padEnd(36), 'scope'.padEnd(7), 'created'.padEnd(24), 'revoked'.padEnd(24), 'name'].join('  '));
        for (const k of list) {
          const revoked = k.revokedAt === null ? '-' : new Date(k.revokedAt).toISOString();
          out(
            [
              k.id.padEnd(36),
              k.scope.padEnd(7),
              new Date(k.createdAt).toISOString().padEnd(24),
              revoked.padEnd(24),
              k.name,
            ].join('  '),
          );
        }
      }
    } else {
      if (!(await storage.keys.revoke(target!, Date.now()))) throw new EL_NOT_FOUND(`Active key "${target}"`);
      out(`Revoked key "${target}". Running collectors stop accepting it within 5 s (their key cache).`);
    }
  } finally {
    await storage.close();
  }
  return 0;
}

export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

const CONSOLE: CliOutput = { out: (line) => console.log(line), err: (line) => console.error(line) };

/** Runs the CLI with these arguments; resolves to the exit code. */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: CliOutput = CONSOLE,
): Promise<number> {
  const out = (line: string) => io.out(line);
  let debug = argv.includes('--debug');
  try {
    const { values: flags, positionals } = parse(argv);
    debug = flags.debug ?? false;
    if (flags.help) {
      out(USAGE);
      return 0;
    }
    const [command, ...rest] = positionals;
    if (command === undefined || command === 'serve') return await serve(flags, env, out);
    if (command === 'keys') return await keys(flags, rest, env, out);
    throw new UsageError(`unknown command "${command}"`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`edgeloop-collector: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    const e = err as Error & { code?: string };
    const code = e.code && /^(EL_|E[A-Z]+$)/.test(e.code) ? ` [${e.code}]` : '';
    io.err(`edgeloop-collector: ${e.message}${code}`);
    if (debug) io.err(e.stack ?? '');
    else if (!(err instanceof EL_INVALID_CONFIG || e.code?.startsWith('EL_')))
      io.err('(run with --debug for the stack trace)');
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
