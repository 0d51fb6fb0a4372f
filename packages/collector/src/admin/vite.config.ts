// Builds the admin page (src/admin) into admin-dist, served by the collector at /admin/ under a strict CSP:
// no inline scripts or styles, no data: URLs, no module-preload polyfill.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/admin/',
  build: {
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    cssCodeSplit: false,
    reportCompressedSize: false,
  },
});
