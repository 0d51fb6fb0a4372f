/**
 * Runs the real edgeloop-trainer CLI (TypeScript source through tsx) in a child process. Asynchronous on purpose:
 * the collector it talks to runs in the test process, which must keep serving while the CLI works.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const RUN = fileURLToPath(new URL('../../src/cli/run.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout's JSON lines, parsed (with --json). */
  json: Record<string, unknown>[];
}

/** Runs `edgeloop-trainer ...args` with `env` added to the environment. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', RUN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const json = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, stdout, stderr, json });
    });
  });
}

export interface CliProcess {
  child: ReturnType<typeof spawn>;
  /** stderr lines (the CLI's steps) with the time the test received each. */
  lines: { at: number; line: string }[];
  stdout(): string;
  /** Resolves with the first stderr line matching `re` (and when it came). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<{ at: number; line: string }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `edgeloop-trainer ...args` and leaves it running (watch mode), reading its steps as they come. */
export function startCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', RUN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: { at: number; line: string }[] = [];
  let partial = '';
  let out = '';
  const waiters: { re: RegExp; resolve: (l: { at: number; line: string }) => void }[] = [];
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      const entry = { at: Date.now(), line };
      lines.push(entry);
      for (const w of [...waiters])
        if (w.re.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(entry);
        }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on('exit', (code, signal) => r({ code, signal })),
  );
  const waitFor = (re: RegExp, timeoutMs = 60_000) =>
    new Promise<{ at: number; line: string }>((resolve, reject) => {
      const seen = lines.find((l) => re.test(l.line));
      if (seen) return resolve(seen);
      const timer = setTimeout(
        () =>
          reject(new Error(`no line matching ${re} within ${timeoutMs} ms:\n${lines.map((l) => l.line).join('\n')}`)),
        timeoutMs,
      );
      waiters.push({ re, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(
          new Error(
            `exited (${code ?? signal}) before a line matching ${re}:\n${lines.map((l) => l.line).join('\n')}\n${out}`,
          ),
        );
      });
    });
  return { child, lines, stdout: () => out, waitFor, exited };
}
