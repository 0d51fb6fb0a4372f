/**
 * Runs the real `edgeloop-collector` CLI in a child process on a free port (TypeScript source through tsx), for
 * the tests where the process itself matters: kill -9, SIGTERM, flags and environment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KEYS } from './stores.js';

export const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

export interface CollectorProcess {
  child: ChildProcess;
  url: string;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves once a line matching `re` has been printed. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a collector process and resolves once it listens. Seeds the test keys unless `env` says otherwise. */
export async function startCollector(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  command: string[] = [process.execPath, '--conditions=source', '--import', TSX, CLI],
): Promise<CollectorProcess> {
  const seeded = {
    EDGELOOP_ADMIN_KEY: KEYS.admin,
    EDGELOOP_TRAINER_KEY: KEYS.trainer,
    EDGELOOP_INGEST_KEY: KEYS.ingest,
  };
  const child = spawn(command[0]!, [...command.slice(1), '--port', '0', '--log-level', 'warn', ...args], {
    env: { ...process.env, ...seeded, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) {
      const m = out.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on('exit', (code, signal) => r({ code, signal })),
  );
  const waitFor = (re: RegExp, timeoutMs = 30_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const m = out.match(re);
      if (m) return resolve(m);
      const timer = setTimeout(
        () => reject(new Error(`collector did not print ${re} within ${timeoutMs} ms; it printed:\n${out}`)),
        timeoutMs,
      );
      waiters.push({ re, resolve: (x) => (clearTimeout(timer), resolve(x)) });
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`collector exited (${code ?? signal}) before printing ${re}; it printed:\n${out}`));
      });
    });
  const m = await waitFor(/listening on (http:\/\/\S+)/);
  return { child, url: m[1]!, output: () => out, waitFor, exited };
}
