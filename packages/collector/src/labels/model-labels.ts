/**
 * The labels a reviewer may give an input of a model: those of the model's stable version, or of its latest
 * version when no rollout names a stable one. `null` when the model has no version yet: there is no label set to
 * check against, so a review is taken as sent (README, "Review queue").
 */
import type { Storage } from '../storage/index.js';

export async function modelLabels(
  storage: Storage,
  model: string,
): Promise<{ version: string; labels: string[] } | null> {
  const rollout = await storage.rollout.get(model);
  if (rollout?.stable) {
    const stable = await storage.registry.get(model, rollout.stable);
    if (stable) return { version: stable.version, labels: stable.meta.labels };
  }
  const [latest] = await storage.registry.list(model);
  return latest ? { version: latest.version, labels: latest.meta.labels } : null;
}
