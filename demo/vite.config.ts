import { defineConfig } from 'vite';

// Workspace packages resolve to their TypeScript source (the `source` export condition), so the demo runs
// straight from the checkout without a build of the packages.
export default defineConfig({
  resolve: { conditions: ['source', 'browser', 'module', 'import', 'default'] },
  server: { host: '127.0.0.1', port: 5173, strictPort: false },
  build: { target: 'es2022' },
});
