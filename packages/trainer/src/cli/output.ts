/**
 * Terminal output for the CLI: steps as lines, long work as a cli-progress bar on a TTY (a line per 10 % when
 * piped), nothing but the final JSON with --json. Human output goes to stderr so stdout stays parseable.
 */
import cliProgress from 'cli-progress';
import type { Reporter } from '../cycle/reporter.js';

export interface Output extends Reporter {
  /** The command's result: JSON on stdout with --json, else the given human text on stdout. */
  result(value: unknown, human: string): void;
  /** Ends any open progress bar. */
  close(): void;
}

export function makeOutput(options: {
  json: boolean;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}): Output {
  const { json, stdout, stderr } = options;
  let bar: cliProgress.SingleBar | undefined;
  let barTask = '';
  let lastTenth = -1;
  const endBar = () => {
    bar?.stop();
    bar = undefined;
    barTask = '';
  };
  return {
    step(message) {
      if (json) return;
      endBar();
      stderr.write(`${message}\n`);
    },
    progress(task, done, total, detail = '') {
      if (json) return;
      if (stderr.isTTY) {
        if (barTask !== task) {
          endBar();
          bar = new cliProgress.SingleBar(
            {
              format: `${task} [{bar}] {percentage}% {value}/{total} {detail}`,
              stream: stderr as NodeJS.WritableStream,
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(total, done, { detail });
          barTask = task;
        }
        bar!.update(done, { detail });
        if (done >= total) endBar();
        return;
      }
      const tenth = Math.floor((done / total) * 10);
      if (tenth !== lastTenth && (tenth > lastTenth || barTask !== task))
        stderr.write(`${task}: ${tenth * 10} % ${detail}\n`);
      lastTenth = done >= total ? -1 : tenth;
      barTask = task;
    },
    result(value, human) {
      endBar();
      stdout.write(json ? `${JSON.stringify(value)}\n` : `${human}\n`);
    },
    close: endBar,
  };
}
