#!/usr/bin/env node
// `npm start`: starts the collector on the embedded default (SQLite under ./.edgeloop at the repository root).
// On a first start the collector creates a development key set and writes it to .edgeloop/dev-keys.json,
// which later steps (demo, trainer) read. Extra arguments go to the collector: npm start -- --port 9000
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = fileURLToPath(new URL('../packages/collector/bin/edgeloop-collector.js', import.meta.url));
const args = process.argv.slice(2);
if (!args.includes('--data-dir')) args.push('--data-dir', '.edgeloop');

const collector = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => collector.kill(signal));
collector.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
