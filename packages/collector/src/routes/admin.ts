/**
 * `GET /admin/`: the admin page, built by Vite from src/admin into admin-dist (`npm run build -w
 * @edgeloop/collector`). The files hold no data, so they are served without a key; every API call the page
 * makes carries the admin key the person typed in. Everything under /admin gets a strict CSP: scripts,
 * styles and requests from this origin only, no inline code, and Trusted Types so no string reaches an HTML sink.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { EL_ADMIN_NOT_BUILT } from '../errors.js';

export const ADMIN_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

export interface AdminOptions {
  /** The built page; default `admin-dist` in the collector package. */
  dir?: string;
}

export default async function admin(app: FastifyInstance, opts: AdminOptions) {
  const dir = opts.dir ?? fileURLToPath(new URL('../../admin-dist/', import.meta.url));

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', ADMIN_CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-opener-policy', 'same-origin');
    return payload;
  });

  if (!existsSync(`${dir}/index.html`)) {
    app.get('/admin', { config: { scope: 'none' } }, async () => {
      throw new EL_ADMIN_NOT_BUILT(dir);
    });
    app.get('/admin/*', { config: { scope: 'none' } }, async () => {
      throw new EL_ADMIN_NOT_BUILT(dir);
    });
    return;
  }

  // The static files are public (see above); routes default to admin scope, so say so for each one.
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, scope: 'none' };
  });
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/admin', // without the slash, /admin redirects to /admin/
    decorateReply: false,
    redirect: true,
    index: ['index.html'],
    // Vite names assets by content hash; the page itself must be revalidated to pick up a new build.
    setHeaders(res, path) {
      res.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
