/**
 * Storage upkeep on a timer: PostgreSQL's event partitions are created a few days ahead, and retention (when
 * `retentionDays` is set) drops what is older. Every collector runs it; an advisory lock makes them take turns,
 * and a pass that finds the work done does nothing. A failed pass is logged and retried at the next tick.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { RetentionResult } from '../storage/index.js';

/** What one upkeep pass did: the partitions it created, and retention's result (null: no retention set). */
export interface MaintenancePass {
  created: string[];
  retention: RetentionResult | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Runs one upkeep pass now (what the timer runs). */
    maintain(now?: number): Promise<MaintenancePass>;
  }
}

async function maintenance(app: FastifyInstance) {
  const { storage, config } = app;
  const aheadDays = config.maintenance ? config.maintenance.aheadDays : 3;
  let running: Promise<unknown> = Promise.resolve();
  const maintain = async (now = Date.now()): Promise<MaintenancePass> => {
    const created = await storage.retention.ensurePartitions(now, aheadDays);
    const retention = config.retentionDays === null ? null : await storage.retention.apply(config.retentionDays, now);
    if (created.length > 0 || (retention && (retention.deletedRows > 0 || retention.droppedPartitions.length > 0)))
      app.log.info({ created, retention }, 'storage maintenance');
    return { created, retention };
  };
  app.decorate('maintain', maintain);
  const every = config.maintenance;
  if (!every) return;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    running = maintain().catch((err: unknown) => app.log.error({ err }, 'storage maintenance failed'));
  };
  app.addHook('onReady', async () => {
    tick();
    timer = setInterval(tick, every.everyMs);
    timer.unref();
  });
  app.addHook('preClose', async () => {
    clearInterval(timer);
    await running;
  });
}

export default fp(maintenance, { name: 'maintenance' });
