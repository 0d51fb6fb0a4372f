/**
 * Engines an app brings as ES modules (`engineModules`): imported and registered on whichever thread runs the
 * model. `registerEngine` on the page cannot reach the runtime's worker, which has its own module graph; a URL
 * can. A module's default export (or its `engines` export) is an `Engine` or a list of them, self-contained:
 * the runtime registers them itself, so the module needs no copy of the runtime.
 */
import type { Engine } from './types.js';
import type { RuntimeOptions } from '../types.js';
import { registerEngine } from './registry.js';
import { RuntimeError } from '../errors.js';

const FORMATS = ['onnx', 'tfjs-layers'];

function isEngineLike(e: unknown): e is Engine {
  const x = e as Engine;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.name === 'string' &&
    x.name.length > 0 &&
    typeof x.priority === 'number' &&
    FORMATS.includes(x.format) &&
    typeof x.unavailable === 'function' &&
    typeof x.load === 'function'
  );
}

/**
 * `options` with its engine modules' URLs made absolute (against the page: a worker would resolve them against
 * its own script); on the page, the modules are imported and their engines registered now.
 */
export async function withEngineModules(options: RuntimeOptions): Promise<RuntimeOptions> {
  if (
    !Array.isArray(options.engineModules) ||
    !options.engineModules.every((u) => typeof u === 'string' && u.length > 0)
  ) {
    throw new RuntimeError('EL_RT_INVALID_OPTIONS', 'engineModules must be a list of module URLs');
  }
  const base = (globalThis as { location?: { href: string } }).location?.href;
  const engineModules = (options.engineModules ?? []).map((u) => new URL(u, base).href);
  if (!options.worker) await importEngines(engineModules);
  return { ...options, engineModules };
}

/** Imports each module and registers the engines it exports; throws `EL_RT_INVALID_OPTIONS` naming a module that fails. */
export async function importEngines(urls: readonly string[]): Promise<string[]> {
  const names: string[] = [];
  for (const url of urls) {
    let mod: { default?: unknown; engines?: unknown };
    try {
      mod = (await import(/* @vite-ignore */ url)) as typeof mod;
    } catch (err) {
      throw new RuntimeError(
        'EL_RT_INVALID_OPTIONS',
        `engine module ${url} could not be imported: ${(err as Error)?.message ?? String(err)}`,
      );
    }
    const exported = mod.default ?? mod.engines;
    const list = Array.isArray(exported) ? exported : [exported];
    if (list.length === 0 || !list.every(isEngineLike)) {
      throw new RuntimeError(
        'EL_RT_INVALID_OPTIONS',
        `engine module ${url} must export (default, or as "engines") an Engine or a list of them: { name, priority, format, unavailable(), load() }`,
      );
    }
    for (const e of list) {
      registerEngine(e);
      names.push(e.name);
    }
  }
  return names;
}
