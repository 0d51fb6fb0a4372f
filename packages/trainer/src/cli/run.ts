/** Process entry: wires signals to watch mode, runs main() and exits with its status. */
import { main } from './main.js';

/** Runs the CLI on process.argv and exits. */
export async function run(): Promise<never> {
  const stop = new AbortController();
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => stop.abort());
  const code = await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: stop.signal,
  });
  // Exit explicitly: idle keep-alive sockets and WASM/GPU handles must not keep a finished command alive.
  process.exit(code);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
