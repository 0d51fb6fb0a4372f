/** Shared benchmark output: a printed table and `bench/results/<name>.json` with the rows and the machine. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

export type Row = Record<string, string | number | boolean | null>;

/** Prints `rows` as a table and writes them with machine details to bench/results/<name>.json. */
export function report(name: string, rows: Row[], extra: Record<string, unknown> = {}): void {
  console.table(rows);
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const machine = {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
  writeFileSync(
    new URL(`${name}.json`, dir),
    JSON.stringify({ name, at: new Date().toISOString(), machine, rows, ...extra }, null, 2),
  );
}

/** Percentile (0–100) of a list of numbers. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
