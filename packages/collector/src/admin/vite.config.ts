// Builds the admin page (src/admin) into admin-dist, served by the collector at /admin/ under a strict CSP:
// no inline scripts or styles, no data: URLs, no module-preload polyfill.
import { defaultClientConditions, defineConfig } from 'vite';

export default defineConfig({
  base: '/admin/',
  // Workspace packages from their TypeScript source, so the page builds without a prior `tsc -b`.
  resolve: { conditions: ['source', ...defaultClientConditions] },
  build: {
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    cssCodeSplit: false,
    reportCompressedSize: false,
  },
});
