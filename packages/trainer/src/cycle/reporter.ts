/**
 * Reporter: how library functions tell the caller what they are doing — a line per step and progress for long
 * work. The CLI renders it with cli-progress on a TTY, as plain lines otherwise, and not at all with --json.
 */
export interface Reporter {
  /** A step worth a line ("training on 550 examples…"). */
  step(message: string): void;
  /** Progress of long work; `done === total` ends it. */
  progress(task: string, done: number, total: number, detail?: string): void;
}

/** A reporter that says nothing (the default for library calls). */
export const silent: Reporter = { step() {}, progress() {} };
