/** The engines the runtime knows, by priority. Built-in ones load their library only when first used. */
import type { Engine, EngineName } from './types.js';
import { ortWasm, ortWebgpu, tfjsCpu, tfjsWasm, tfjsWebgpu } from './builtin.js';

const engines = new Map<EngineName, Engine>();
for (const e of [ortWebgpu, ortWasm, tfjsWebgpu, tfjsWasm, tfjsCpu]) engines.set(e.name, e);

/** Adds or replaces an engine (for example one built on another library). */
export function registerEngine(engine: Engine): void {
  engines.set(engine.name, engine);
}

/** Engines by descending priority, limited to `names` if given. */
export function listEngines(names?: readonly EngineName[]): Engine[] {
  const all = [...engines.values()].sort((a, b) => b.priority - a.priority);
  return names ? all.filter((e) => names.includes(e.name)) : all;
}

/** Whether `name` is a registered engine. */
export function isEngine(name: string): boolean {
  return engines.has(name);
}
