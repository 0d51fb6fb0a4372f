/**
 * CPU affinity for one pass of the runtime bench: the page's thread (each renderer process's main thread) on the
 * last core, every other thread of this bench's process tree (the collector and the load in this Node process,
 * the browser's own processes and threads) on the others. Models a device whose browser threads do not have to
 * share the page's core with a server and a test driver; Linux only (`/proc`, util-linux's `taskset`).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

const read = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/** This process and every process below it. */
function tree(root = process.pid): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    // Field 4 of /proc/<pid>/stat, after the parenthesised command (which may hold spaces).
    const stat = read(`/proc/${name}/stat`);
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    parent.set(Number(name), ppid);
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, ppid] of parent) if (ppid === out[i]) out.push(pid);
  return out;
}

/** Why pinning cannot be done here, or null. */
export function cannotPin(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (availableParallelism() < 2) return 'one core';
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'taskset (util-linux) is not installed';
  }
  return null;
}

/** Pins (or, with `pin = false`, frees) every thread of the tree; returns how many page threads got the last core. */
export function pinPageThreads(pin = true): number {
  const cores = availableParallelism();
  const all = `0-${cores - 1}`;
  const rest = cores === 2 ? '0' : `0-${cores - 2}`;
  const last = String(cores - 1);
  const lines: string[] = [];
  let pages = 0;
  for (const pid of tree()) {
    const renderer = read(`/proc/${pid}/cmdline`).includes('--type=renderer');
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const page = renderer && tid === String(pid);
      if (page) pages++;
      lines.push(`taskset -p -c ${!pin ? all : page ? last : rest} ${tid} >/dev/null 2>&1 || true`);
    }
  }
  execFileSync('bash', ['-c', lines.join('\n')]);
  return pages;
}
