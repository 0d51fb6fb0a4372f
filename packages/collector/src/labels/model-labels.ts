/**
 * The labels a reviewer may give an input of a model: those of the model's stable version, or of its latest
 * version when no rollout names a stable one, and whether that version is multi-label (`output.kind` "sigmoid": a
 * reviewer gives a label set). `null` when the model has no version yet: there is no label set to check against, so a
 * review is taken as sent (README, "Review queue").
 */
import type { Version } from '@edgeloop/protocol';
import type { Storage } from '../storage/index.js';

export interface ModelLabels {
  version: string;
  labels: string[];
  /** Whether the version is a multi-label model, labeled with label sets. */
  multiLabel: boolean;
}

const labelsOf = (v: Version): ModelLabels => ({
  version: v.version,
  labels: v.meta.labels,
  multiLabel: v.meta.output?.kind === 'sigmoid',
});

export async function modelLabels(storage: Storage, model: string): Promise<ModelLabels | null> {
  const rollout = await storage.rollout.get(model);
  if (rollout?.stable) {
    const stable = await storage.registry.get(model, rollout.stable);
    if (stable) return labelsOf(stable);
  }
  const [latest] = await storage.registry.list(model);
  return latest ? labelsOf(latest) : null;
}
