/**
 * The table of every route the app registers, with the key scope each one needs. Recorded from the first line
 * of `buildApp`, so routes any plugin adds later are listed too: the auth-matrix test walks it, and the
 * OpenAPI document and the auth hook read the same `config.scope`.
 */
import type { FastifyInstance } from 'fastify';
import type { Endpoint } from '@edgeloop/protocol';
import type { RouteScope } from './plugins/auth.js';

export interface RouteEntry {
  method: string;
  url: string;
  /** The declared scope; a route that declares none needs admin (default-deny). */
  scope: RouteScope;
  /** The protocol spec the route was registered from (every route of the v1 API has one). */
  endpoint: Endpoint | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    readonly routeTable: readonly RouteEntry[];
  }
}

/** Starts recording routes on `app` (call before any route is registered). */
export function recordRoutes(app: FastifyInstance): void {
  const table: RouteEntry[] = [];
  app.decorate('routeTable', { getter: () => table });
  app.addHook('onRoute', (route) => {
    // Read the scope when asked, not now: onRoute hooks of inner plugins run after this one and may set it.
    const config = () => route.config as { scope?: RouteScope; endpoint?: Endpoint } | undefined;
    for (const method of ([] as string[]).concat(route.method)) {
      table.push({
        method,
        url: route.url,
        get scope() {
          return config()?.scope ?? 'admin';
        },
        get endpoint() {
          return config()?.endpoint;
        },
      });
    }
  });
}
