/**
 * Turns a manifest into a serving model: picks the engine (measuring candidates when `auto`), downloads and
 * verifies the artifacts, loads the session, warms it up and checks its output on a probe input.
 */
import type { Artifact, ArtifactFormat, Manifest } from '@edgeloop/protocol';
import type { Engine, EngineContext, EngineName, EngineSession, ModelFiles } from '../engines/types.js';
import type { EngineChoice } from '../types.js';
import { listEngines } from '../engines/registry.js';
import { probeInput } from '../input.js';
import type { ModelIO } from './io.js';
import { RuntimeError, codes } from '../errors.js';
import type { ArtifactStore } from './artifacts.js';
import type { LoadedModel } from './slot.js';

export interface LoadRequest {
  manifest: Manifest;
  /** Engines to consider, in order of preference. */
  engines: readonly EngineName[];
  /** Measure every candidate and keep the fastest (`engine: 'auto'`). */
  measure: boolean;
  runs: number;
  ctx: EngineContext;
  artifacts: ArtifactStore;
  /** Use cached artifacts only (offline start). */
  offline?: boolean;
}

/** Loads `manifest` on the best engine; throws a RuntimeError (and releases everything) if it cannot serve. */
export async function loadModel(req: LoadRequest): Promise<{ model: LoadedModel; choice: EngineChoice }> {
  const { manifest } = req;
  const skipped: EngineChoice['skipped'] = {};
  const files = new Map<ArtifactFormat, Promise<ModelFiles>>();
  const filesOf = (format: ArtifactFormat): Promise<ModelFiles> => {
    let p = files.get(format);
    if (!p) {
      p = fetchFiles(
        manifest.artifacts.filter((a) => a.format === format),
        format,
        req,
      );
      files.set(format, p);
    }
    return p;
  };

  const candidates: Engine[] = [];
  for (const engine of listEngines(req.engines)) {
    if (!manifest.artifacts.some((a) => a.format === engine.format))
      skipped[engine.name] = `version ${manifest.version} has no ${engine.format} artifact`;
    else {
      const why = await engine.unavailable();
      if (why) skipped[engine.name] = why;
      else candidates.push(engine);
    }
  }
  // Keep the caller's order of preference when engines were named explicitly.
  candidates.sort((a, b) => req.engines.indexOf(a.name) - req.engines.indexOf(b.name));

  // The conventions' code loads with the first model, like an engine's adapter.
  const plan = (await import('./io.js')).compileIO(manifest);
  const probe = plan.toModel(probeInput(manifest.input));
  const ctx: EngineContext = { ...req.ctx, input: { shape: plan.modelShape, dtype: manifest.input.dtype } };
  const missing = new Set<string>();
  const loaded: { engine: Engine; session: EngineSession; ms: number }[] = [];
  try {
    for (const engine of candidates) {
      const bytes = await filesOf(engine.format);
      let session: EngineSession;
      try {
        await yieldToPage();
        session = await engine.load(bytes, ctx);
      } catch (err) {
        // The model does not fit its manifest (a shape, a dtype): no other engine will fix that; say so as it is. An
        // engine module brings its own copy of RuntimeError: its code is what counts.
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'string' && code in codes)
          throw err instanceof RuntimeError ? err : RuntimeError.from(code, (err as Error).message);
        // A MissingLibrary (engines/library.ts) names the package; only then is installing one the fix.
        const library = (err as { library?: unknown }).library;
        if (typeof library === 'string') missing.add(library);
        skipped[engine.name] = `load failed: ${(err as Error).message}`;
        continue;
      }
      let ms: number;
      try {
        ms = await check(session, probe, manifest, plan, req.measure ? req.runs : 1);
      } catch (err) {
        await session.release().catch(() => undefined);
        if (err instanceof RuntimeError) throw err;
        skipped[engine.name] = `run failed: ${(err as Error).message}`;
        continue;
      }
      loaded.push({ engine, session, ms });
      if (!req.measure) break;
    }
    if (loaded.length === 0) {
      const reasons = Object.entries(skipped)
        .map(([n, r]) => `${n}: ${r}`)
        .join('; ');
      // The install hint only when an engine's package really is missing.
      const install = missing.size ? `. Install ${[...missing].join(' and ')}, or pick another engine` : '';
      throw new RuntimeError('EL_RT_NO_ENGINE', (reasons || 'no engine was asked for') + install);
    }
  } catch (err) {
    await Promise.all(loaded.map((l) => l.session.release().catch(() => undefined)));
    throw err;
  }

  loaded.sort((a, b) => a.ms - b.ms);
  const [best, ...rest] = loaded as [(typeof loaded)[number], ...typeof loaded];
  await Promise.all(rest.map((l) => l.session.release().catch(() => undefined)));
  const measured: EngineChoice['measured'] = {};
  for (const l of loaded) measured[l.engine.name] = Math.round(l.ms * 1000) / 1000;
  let reason: string;
  if (req.measure && loaded.length > 1) {
    const gpu = await import('../engines/gpu.js').then((m) => m.gpuAdapterName());
    reason =
      `auto: fastest on this device (ms per prediction, best of 3 × ${req.runs} warm runs): ${loaded.map((l) => `${l.engine.name} ${l.ms.toFixed(3)}`).join(' < ')}` +
      (gpu ? `; WebGPU adapter: ${gpu}` : '');
  } else if (req.measure) reason = `auto: the only engine that can run this model here`;
  else
    reason = req.engines.length === 1 ? `asked for ${best.engine.name}` : `first of the requested engines that loaded`;
  return {
    model: { manifest, engine: best.engine.name, session: best.session, io: plan },
    choice: { name: best.engine.name, reason, measured, skipped },
  };
}

/**
 * Warms the session up and checks the probe output; returns ms per run: the best of three rounds of `runs`
 * back-to-back runs (timers are coarse in browsers, so single runs are not timed one by one).
 */
async function check(
  session: EngineSession,
  probe: Float32Array,
  manifest: Manifest,
  plan: ModelIO,
  runs: number,
): Promise<number> {
  const shape = plan.modelShape;
  // Before every run of a load, let the serving model answer the predictions that are waiting: one run at a time.
  await yieldToPage();
  const out = await session.run(probe, shape);
  const problem = plan.problem(out, manifest.labels.length);
  if (problem) throw new RuntimeError('EL_RT_PROBE_FAILED', manifest.version, problem);
  await yieldToPage();
  let t0 = performance.now();
  await session.run(probe, shape);
  // Not measuring (a named engine, or a swap): the warm-up run's time is the figure; no extra run.
  if (runs <= 1) return performance.now() - t0;
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    await yieldToPage();
    t0 = performance.now();
    for (let i = 0; i < runs; i++) await session.run(probe, shape);
    best = Math.min(best, (performance.now() - t0) / runs);
  }
  return best;
}

const yieldToPage = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

async function fetchFiles(artifacts: Artifact[], format: ArtifactFormat, req: LoadRequest): Promise<ModelFiles> {
  const entries = await Promise.all(
    artifacts.map(async (a) => [a.name, await req.artifacts.get(a, req.offline)] as const),
  );
  return { format, files: new Map(entries) };
}
