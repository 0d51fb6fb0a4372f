/**
 * What the registry, artifact, rollout, manifest and metrics routes share: the artifact blob store, the compiled
 * manifest cache and the canary controller (ticking every `controller.tickMs` unless the config disables it).
 */
import fp from 'fastify-plugin';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { BlobStore } from '../registry/types.js';
import { diskBlobStore } from '../registry/disk-blobs.js';
import { ManifestCache } from './manifest-cache.js';
import { RolloutController } from './controller.js';
import { changeRollout, type RolloutChangeRequest } from './change.js';
import type { RolloutState } from './types.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Artifact bytes by sha256 (PostgreSQL's table, or files under `<dataDir>/artifacts`). */
    blobs: BlobStore;
    manifests: ManifestCache;
    rolloutController: RolloutController;
    /** Changes a model's rollout with its audit entry and refreshes this process's manifests. */
    changeRollout(model: string, request: RolloutChangeRequest): Promise<RolloutState>;
  }
}

export interface ReleaseOptions {
  /** Milliseconds a compiled manifest is trusted before re-reading the rollout (changes by other collectors). */
  manifestTtlMs?: number;
}

async function release(app: FastifyInstance, opts: ReleaseOptions) {
  const { storage, config } = app;
  app.decorate('blobs', storage.blobs ?? diskBlobStore(join(config.dataDir, 'artifacts')));
  const manifests = new ManifestCache(
    { rollout: (m) => storage.rollout.get(m), version: (m, v) => storage.registry.get(m, v) },
    { ttlMs: opts.manifestTtlMs ?? 1000, pollAfterSec: config.pollAfterSec },
  );
  app.decorate('manifests', manifests);
  const onChange = (model: string) => manifests.invalidate(model);
  app.decorate('changeRollout', (model: string, request: RolloutChangeRequest) =>
    changeRollout(storage, model, request, onChange),
  );
  const controller = new RolloutController(storage, onChange, app.log);
  app.decorate('rolloutController', controller);
  const { controller: timer } = config;
  if (timer) app.addHook('onReady', async () => controller.start(timer.tickMs));
  // preClose runs before requests drain and before any onClose hook, so a pass never meets a closed store.
  app.addHook('preClose', async () => controller.stop());
}

export default fp(release, { name: 'edgeloop-release', fastify: '5.x' });
