import { defineConfig, runnerImport, type Plugin } from 'vite';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// TF.js's WASM backend fetches its .wasm files at run time from `wasmPaths.tfjs`: copy them into public/tfjs/.
function tfjsWasm(): Plugin {
  return {
    name: 'edgeloop-tfjs-wasm',
    configResolved(config) {
      const require = createRequire(import.meta.url);
      const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
      const out = join(config.publicDir, 'tfjs');
      mkdirSync(out, { recursive: true });
      for (const f of readdirSync(dist).filter((n) => n.endsWith('.wasm'))) copyFileSync(join(dist, f), join(out, f));
    },
  };
}

const SOURCE_FIRST = ['source', 'browser', 'module', 'import', 'default'];

/** How many real MNIST digits the simulated users draw from (the trainer's `drift` part: never golden). */
export const SIM_DIGITS = 2000;

// The simulated users draw real MNIST digits: the trainer's `drift` part (set aside for drift slices, never in the
// golden set), written once to public/mnist/drift.bin as bytes: a uint32 count, `count` labels, then 28 × 28
// pixels per digit (0–255, white on black).
function mnistDigits(): Plugin {
  return {
    name: 'edgeloop-mnist-digits',
    async configResolved(config) {
      const out = join(config.publicDir, 'mnist');
      const file = join(out, 'drift.bin');
      if (existsSync(file)) return;
      // The trainer's TypeScript source, through Vite's module runner (plain Node cannot import it from a checkout).
      const source = fileURLToPath(new URL('../packages/trainer/src/data/mnist.ts', import.meta.url));
      const { module } = await runnerImport<typeof import('@edgeloop/trainer/mnist')>(source, {
        configFile: false,
        logLevel: 'warn',
        // Workspace packages inlined from their TypeScript source; everything else is Node's as usual.
        environments: { inline: { resolve: { noExternal: [/^@edgeloop\//], conditions: ['source'] } } },
      });
      const set = module.loadMnist('drift', SIM_DIGITS);
      const bytes = new Uint8Array(4 + set.count * (1 + 784));
      new DataView(bytes.buffer).setUint32(0, set.count, true);
      for (let i = 0; i < set.count; i++) bytes[4 + i] = set.y[i]!;
      const pixels = 4 + set.count;
      for (let i = 0; i < set.count * 784; i++) bytes[pixels + i] = Math.round(set.x[i]! * 255);
      mkdirSync(out, { recursive: true });
      writeFileSync(file, bytes);
    },
  };
}

// Workspace packages resolve to their TypeScript source (the `source` export condition), so the demo runs
// straight from the checkout without building the packages.
export default defineConfig({
  plugins: [tfjsWasm(), mnistDigits()],
  resolve: { conditions: SOURCE_FIRST },
  server: { host: '127.0.0.1', port: 5173 },
  build: { target: 'es2022' },
  worker: { format: 'es' },
});
