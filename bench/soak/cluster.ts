/**
 * The soak's own PostgreSQL: a throwaway cluster in a temp dir on a free port (initdb, pg_ctl), so that restarting
 * it touches nobody else's database. initdb refuses root: as root, every command runs as the `postgres` user
 * (`runuser -u postgres --`) in a dir that user owns.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

const BIN = process.env.SOAK_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface Cluster {
  url: string;
  port: number;
  dir: string;
  /** `pg_ctl stop -m immediate` (a crash: recovery from WAL at the next start), then start; resolves once it takes connections. */
  restart(): Promise<void>;
  /** Stops the cluster and removes its dir. */
  remove(): void;
}

function pgUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

export async function startCluster(): Promise<Cluster> {
  const user = pgUser();
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-soak-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const port = await freePort();
  const run = (cmd: string, args: string[]) =>
    execFileSync(user ? 'runuser' : join(BIN, cmd), user ? ['-u', 'postgres', '--', join(BIN, cmd), ...args] : args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
      timeout: 120_000,
    });
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const runAsync = (cmd: string, args: string[]) =>
    promisify(execFile)(
      user ? 'runuser' : join(BIN, cmd),
      user ? ['-u', 'postgres', '--', join(BIN, cmd), ...args] : args,
      { timeout: 120_000 },
    );
  const startArgs = () => [
    '-D',
    data,
    '-l',
    join(dir, 'postgres.log'),
    '-w',
    '-t',
    '120',
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`,
    'start',
  ];
  run('pg_ctl', startArgs());
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    async restart() {
      await runAsync('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      await runAsync('pg_ctl', startArgs());
    },
    remove() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // not running
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
