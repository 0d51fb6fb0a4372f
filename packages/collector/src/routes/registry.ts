/**
 * The model registry: `POST /v1/models/:model/versions` (trainer; multipart, see registry/publication.ts) stores
 * an immutable version with content-addressed artifacts; `GET /v1/models` and `GET /v1/models/:model/versions[/:version]`
 * list versions with their lineage (parent, batches, trainer config, code version in `meta`). A model's first
 * version becomes its stable, since there is nothing to compare it with; the audit log says so.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import multipart from '@fastify/multipart';
import { getVersion, listModels, listVersions, postVersion, type Version } from '@edgeloop/protocol';
import { readPublication, UPLOAD_LIMITS, type Publication } from '../registry/publication.js';
import {
  EL_INVALID_BODY,
  EL_INVALID_VERSION,
  EL_LEASE_LOST,
  EL_MODEL_NOT_FOUND,
  EL_NOT_FOUND,
  EL_VERSION_EXISTS,
} from '../errors.js';
import { routeOf } from './route.js';

export default async function registry(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  await app.register(multipart, {
    limits: { ...UPLOAD_LIMITS },
    throwFileSizeLimit: true,
    // Keep the name as sent, so "../x" is refused rather than quietly shortened to "x".
    preservePath: true,
  });
  const { storage } = app;

  app.route({
    ...routeOf(postVersion),
    handler: async (request, reply) => {
      if (!request.isMultipart())
        throw new EL_INVALID_BODY('send multipart/form-data with a "meta" part and the artifact files');
      const { model } = request.params;
      let publication: Publication;
      try {
        publication = await readPublication(request.parts());
      } catch (err) {
        throw uploadError(err);
      }
      const { meta, artifacts } = publication;
      // Fencing: a trainer that lost its lease while training or uploading publishes nothing. Checked after the
      // upload, as close to the write as the route gets (not in its transaction: a takeover in between still wins).
      const leaseId = request.query.lease;
      if (leaseId !== undefined) {
        const current = await storage.leases.get(model);
        const now = Date.now();
        if (!current || current.leaseId !== leaseId || current.releasedAt !== null || current.expiresAt <= now) {
          const why = !current
            ? 'the model has no lease'
            : current.leaseId !== leaseId
              ? `"${current.holder}" holds the model's lease now`
              : current.releasedAt !== null
                ? 'it was released'
                : 'it expired';
          throw new EL_LEASE_LOST(leaseId, model, why);
        }
      }
      if (meta.version !== undefined && (await storage.registry.get(model, meta.version)))
        throw new EL_VERSION_EXISTS(meta.version, model);
      if (meta.parent !== null && !(await storage.registry.get(model, meta.parent))) {
        throw new EL_INVALID_VERSION(`parent "${meta.parent}" is not a version of model "${model}"`);
      }
      // Bytes first: a version row never points at an artifact that is not stored.
      for (const a of artifacts) await app.blobs.put(a.sha256, a.bytes);
      const base: Omit<Version, 'version' | 'meta'> = {
        model,
        createdAt: Date.now(),
        createdBy: request.key?.name ?? 'unknown',
        artifacts: artifacts.map((a) => ({
          format: a.format,
          name: a.name,
          url: `/v1/artifacts/${a.sha256}`,
          sha256: a.sha256,
          bytes: a.bytes.length,
        })),
      };
      let version = meta.version;
      if (version !== undefined) {
        if (!(await storage.registry.create({ ...base, version, meta }))) throw new EL_VERSION_EXISTS(version, model);
      } else {
        // Unnamed versions are numbered; a concurrent publish taking the same number makes us try the next.
        const taken = (await storage.registry.list(model)).length;
        for (let n = taken + 1; version === undefined; n++) {
          if (n > taken + 20)
            throw new EL_INVALID_VERSION('could not pick a free version name: name the version in meta.version');
          const name = `v${n}`;
          if (await storage.registry.create({ ...base, version: name, meta: { ...meta, version: name } }))
            version = name;
        }
      }
      if (!(await storage.rollout.get(model))) {
        const first = await storage.rollout.apply(model, {
          expectedRevision: 0,
          next: { stable: version, canary: null, canaryPercent: 0, auto: null },
          phaseStartedAt: base.createdAt,
          entry: {
            at: base.createdAt,
            actor: base.createdBy,
            action: 'publish',
            reason: `first version of model "${model}" becomes stable`,
            details: null,
          },
        });
        if (first) app.manifests.invalidate(model);
      }
      return reply.code(201).send({ version });
    },
  });

  app.route({
    ...routeOf(listModels),
    handler: async () => {
      const summaries = await storage.registry.models();
      const models = await Promise.all(
        summaries.map(async (s) => {
          const r = await storage.rollout.get(s.model);
          return { ...s, stable: r?.stable ?? null, canary: r?.canary ?? null, canaryPercent: r?.canaryPercent ?? 0 };
        }),
      );
      return { models };
    },
  });

  app.route({
    ...routeOf(listVersions),
    handler: async (request) => {
      const { model } = request.params;
      const versions = await storage.registry.list(model);
      if (versions.length === 0) throw new EL_MODEL_NOT_FOUND(model);
      return { model, versions };
    },
  });

  app.route({
    ...routeOf(getVersion),
    handler: async (request) => {
      const { model, version } = request.params;
      const v = await storage.registry.get(model, version);
      if (!v) throw new EL_NOT_FOUND(`Version "${version}" of model "${model}"`);
      return v;
    },
  });
}

// The multipart parser (busboy) throws plain, uncoded errors for a malformed body (no boundary, a truncated
// body): those are the client's, not ours. Coded errors (limits, EL_…) go on to the error handler, bugs (a
// TypeError, say) to 500.
function uploadError(err: unknown): unknown {
  const e = err as { code?: unknown; statusCode?: unknown };
  const malformed =
    err instanceof Error && err.constructor === Error && e.code === undefined && e.statusCode === undefined;
  return malformed ? new EL_INVALID_BODY(`multipart body: ${err.message}`) : err;
}
