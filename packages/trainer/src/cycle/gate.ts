/**
 * GoldenGate: a candidate is published only if it is no worse than the stable version where it matters — golden
 * set accuracy within a tolerance, no class's golden recall dropping past a tolerance, and validation accuracy on
 * the new batch at least stable's. Every check is reported (stable, candidate, threshold, pass).
 */
import type * as tf from '@tensorflow/tfjs';
import type { GateMetric } from '@edgeloop/protocol';
import type { ExampleSet } from '../data/examples.js';
import { evaluateModel, type Evaluation } from '../train/evaluate.js';

export interface GateOptions {
  /** Golden accuracy may be at most this much below stable's (fraction; default 0.005 = 0.5 points). */
  goldenTolerance?: number;
  /**
   * A class's golden recall may drop at most this much (fraction; default 0.05 = 5 points). With ~150 golden
   * examples per class a recall is only known to about ±2.4 points (one standard error), so a tighter default
   * would reject good candidates on noise alone.
   */
  recallTolerance?: number;
}

export interface GateReport {
  pass: boolean;
  metrics: GateMetric[];
}

export interface GateResult {
  report: GateReport;
  stable: { golden: Evaluation; val: Evaluation | null };
  candidate: { golden: Evaluation; val: Evaluation | null };
}

// Accuracies are ratios of counts: compare with a little slack so equal counts never fail on float rounding.
const EPS = 1e-9;

/** Evaluates both models on the golden set and the validation split and applies the gate. */
export async function runGate(stable: tf.LayersModel, candidate: tf.LayersModel, golden: ExampleSet, val: ExampleSet, options: GateOptions = {}): Promise<GateResult> {
  const goldenTol = options.goldenTolerance ?? 0.005;
  const recallTol = options.recallTolerance ?? 0.05;
  const s = { golden: await evaluateModel(stable, golden), val: val.count > 0 ? await evaluateModel(stable, val) : null };
  const c = { golden: await evaluateModel(candidate, golden), val: val.count > 0 ? await evaluateModel(candidate, val) : null };
  const metrics: GateMetric[] = [];
  const check = (name: string, stableValue: number, candidateValue: number, threshold: number) =>
    metrics.push({ name, stable: stableValue, candidate: candidateValue, threshold, pass: candidateValue >= threshold - EPS });
  check('golden.accuracy', s.golden.accuracy, c.golden.accuracy, s.golden.accuracy - goldenTol);
  for (const label of golden.labels) {
    const rs = s.golden.recall[label];
    const rc = c.golden.recall[label];
    if (rs == null || rc == null) continue; // no golden example of this class
    check(`golden.recall.${label}`, rs, rc, rs - recallTol);
  }
  if (s.val && c.val) check('val.accuracy', s.val.accuracy, c.val.accuracy, s.val.accuracy);
  return { report: { pass: metrics.every((m) => m.pass), metrics }, stable: s, candidate: c };
}

/** The gate report as aligned text lines (metric, stable, candidate, threshold, pass/FAIL). */
export function formatGate(report: GateReport): string {
  const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(2)} %`);
  const rows = report.metrics.map((m) => [m.name, pct(m.stable), pct(m.candidate), `≥ ${pct(m.threshold)}`, m.pass ? 'pass' : 'FAIL']);
  const head = ['metric', 'stable', 'candidate', 'threshold', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line), `gate: ${report.pass ? 'PASS' : 'FAIL'}`].join('\n');
}
