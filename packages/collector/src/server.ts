/**
 * The server: builds the app and listens. Shutdown is graceful: stop the canary controller, stop accepting, let
 * in-flight requests finish (new ones on open connections get 503 + Retry-After) for at most `drainTimeoutMs`,
 * then cut what is left and close the store.
 */
import { buildApp, type App } from './app.js';
import type { CollectorConfig } from './config.js';

export interface ServeOptions extends CollectorConfig {
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface RunningCollector {
  app: App;
  /** The base URL it listens on, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Graceful close (see `closeGracefully`). */
  close(): Promise<void>;
}

/** Builds the collector and listens on `host:port`. */
export async function startServer(options: ServeOptions = {}): Promise<RunningCollector> {
  const { port = 8080, host = '127.0.0.1', ...config } = options;
  const app = await buildApp(config);
  try {
    await app.listen({ port, host });
  } catch (err) {
    await app.close();
    throw err;
  }
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  return { app, url, close: () => closeGracefully(app) };
}

/** Stops the controller and accepting, waits up to `drainTimeoutMs` for in-flight requests, then closes the connections left and the store. */
export async function closeGracefully(app: App, drainTimeoutMs = app.config.drainTimeoutMs): Promise<void> {
  const timer = setTimeout(() => {
    app.log.warn({ drainTimeoutMs }, 'drain timeout: closing the connections still open');
    app.server.closeAllConnections();
  }, drainTimeoutMs);
  timer.unref();
  try {
    await app.close();
  } finally {
    clearTimeout(timer);
  }
}
