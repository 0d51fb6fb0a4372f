import { defineConfig, type Plugin } from 'vite';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

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

// Workspace packages resolve to their TypeScript source (the `source` export condition), so the demo runs
// straight from the checkout without building the packages.
export default defineConfig({
  plugins: [tfjsWasm()],
  resolve: { conditions: ['source', 'browser', 'module', 'import', 'default'] },
  server: { host: '127.0.0.1', port: 5173 },
  build: { target: 'es2022' },
  worker: { format: 'es' },
});
