/**
 * evaluate and export for stored versions: a version's accuracy, per-class recall and confusion matrix on its
 * golden set or given data, and a version's files written out (ONNX re-exported and parity-checked).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CollectorClient } from '../collector/client.js';
import type { ExampleSet } from '../data/examples.js';
import { decodeExamples } from '../data/wire.js';
import { TrainerError } from '../errors.js';
import { exportModel } from '../export/artifacts.js';
import { evaluateModel, type Evaluation } from '../train/evaluate.js';
import { evaluateMultiLabel } from '../train/multi-label.js';
import { onnxNames, stableModel, storedModel } from './lineage.js';

export interface EvaluationReport extends Evaluation {
  /**
   * A multi-label (sigmoid) version's label-set metrics; its `accuracy` is then the exact match, `recall` per label,
   * and `confusion` empty.
   */
  multiLabel?: { exactMatch: number; jaccard: number; microF1: number };
  model: string;
  version: string;
  data: string;
  labels: string[];
  at: string;
}

/** Evaluates a version (default: stable) on `data`, or on the model's golden set when no data is given. */
export async function evaluateVersion(
  client: CollectorClient,
  model: string,
  version?: string,
  data?: { name: string; set: ExampleSet },
): Promise<EvaluationReport> {
  const stored = version ? await storedModel(client, model, version) : await stableModel(client, model);
  const { labels, input } = stored.version.meta;
  const multi = stored.version.meta.output?.kind === 'sigmoid';
  let set = data?.set;
  if (!set) {
    const golden = await client.golden(model);
    if (!golden) throw new TrainerError('ELT_NO_GOLDEN_SET', [model, model]);
    set = decodeExamples(golden, labels, input, { multiLabel: multi }).bySplit.golden;
  }
  if (set.count === 0) throw new TrainerError('ELT_BAD_DATA', ['no examples to evaluate on']);
  const net = await stored.load();
  let evaluation: Evaluation & Pick<EvaluationReport, 'multiLabel'>;
  if (multi) {
    const e = await evaluateMultiLabel(net, inModelOrder(set, labels));
    evaluation = {
      count: e.count,
      accuracy: e.exactMatch,
      recall: e.recall,
      confusion: [],
      multiLabel: { exactMatch: e.exactMatch, jaccard: e.jaccard, microF1: e.microF1 },
    };
  } else evaluation = await evaluateModel(net, { ...set, labels });
  net.dispose();
  return {
    model,
    version: stored.version.version,
    data: data?.name ?? 'golden set',
    labels,
    at: new Date().toISOString(),
    ...evaluation,
  };
}

/**
 * A multi-label set's label sets with their columns in the model's label order (data read from a file lists its labels
 * sorted); a label the model does not have is dropped.
 */
function inModelOrder(set: ExampleSet, labels: readonly string[]): ExampleSet {
  if (!set.yMulti) throw new TrainerError('ELT_BAD_DATA', ['a multi-label version is evaluated on label sets']);
  if (set.labels.join('\u0000') === labels.join('\u0000')) return set;
  const [from, to] = [set.labels.length, labels.length];
  const yMulti = new Float32Array(set.count * to);
  set.labels.forEach((l, j) => {
    const at = labels.indexOf(l);
    if (at >= 0) for (let n = 0; n < set.count; n++) yMulti[n * to + at] = set.yMulti![n * from + j]!;
  });
  return { ...set, yMulti, labels };
}

/** Writes a version's TF.js Layers files, a fresh parity-checked ONNX export and its meta to `outDir`. */
export async function exportVersion(
  client: CollectorClient,
  model: string,
  version: string | undefined,
  outDir: string,
): Promise<{ version: string; files: string[]; parity: number | null }> {
  const stored = version ? await storedModel(client, model, version) : await stableModel(client, model);
  const net = await stored.load();
  const names = onnxNames(stored.config);
  const exported = await exportModel(net, undefined, { onnx: true, ...(names ? { names } : {}) });
  net.dispose();
  mkdirSync(join(outDir, 'tfjs'), { recursive: true });
  const files: string[] = [];
  for (const f of exported.files) {
    const path = f.format === 'onnx' ? join(outDir, f.name) : join(outDir, 'tfjs', f.name);
    writeFileSync(path, f.bytes);
    files.push(path);
  }
  const metaPath = join(outDir, 'meta.json');
  writeFileSync(
    metaPath,
    JSON.stringify({ model, version: stored.version.version, ...stored.version.meta }, null, 2) + '\n',
  );
  files.push(metaPath);
  return { version: stored.version.version, files, parity: exported.parity?.maxAbsDiff ?? null };
}
