/**
 * MultiLabelGate: the gate of a multi-label (sigmoid) model's candidate, the same promise as the single-label gate
 * (gate.ts) on label sets —
 *  - golden micro-F1 within a tolerance of stable's (and of the lineage's golden baseline), and no label's golden recall
 *    dropping past a tolerance;
 *  - a gain on held-out new examples: the candidate's mean Jaccard beats stable's, and that of the best constant label
 *    set (a model that ignores its input), by a minimum, and by more than chance (example by example against stable);
 *  - no regression of micro-F1 on a held-out slice of the replayed old data, nor of mean Jaccard on held-out earlier
 *    corrections (what earlier cycles learned).
 * As in the single-label gate, the gain's significance is counted on every held-out correction no version trained on
 * (the new ones and the earlier ones a cycle rehearses), and a batch with fewer than MARGIN_MIN held-out new examples
 * has its margin counted on them pooled with the earlier ones.
 * Every check is reported; a failed gate says what went wrong, for which labels, and what would help.
 */
import type * as tf from '@tensorflow/tfjs';
import { concat, type ExampleSet } from '../data/examples.js';
import { evaluateMultiLabel, targetsOf, type MultiLabelEvaluation } from '../train/multi-label.js';
import { GATE_DEFAULTS, gateChecks, MARGIN_MIN, type GateOptions, type GateReport } from './gate.js';

/** What the gate evaluates on: never trained on, never used to choose between candidates. */
export interface MultiLabelGateData {
  golden: ExampleSet;
  /** Held-out new examples. */
  fresh: ExampleSet;
  /** A held-out slice of the replay data (may be empty). */
  replay: ExampleSet;
  /** Held-out earlier corrections: examples of earlier batches no version trained on (optional). */
  earlier?: ExampleSet;
  /** Every new example (train and validation): the constant label sets the gain is measured against come from it. */
  allNew?: ExampleSet;
  /** Golden micro-F1 of the lineage's first version on this golden set (absent in a lineage's first cycle). */
  goldenBaseline?: number;
  /** Examples per label in the new batches (for advice). */
  labelCounts?: Record<string, number>;
}

export interface MultiLabelSide {
  golden: MultiLabelEvaluation;
  fresh: MultiLabelEvaluation | null;
  replay: MultiLabelEvaluation | null;
  earlier: MultiLabelEvaluation | null;
}

export interface MultiLabelGateResult {
  report: GateReport;
  stable: MultiLabelSide;
  candidate: MultiLabelSide;
}

const EPS = 1e-9;
const pts = (v: number) => `${(v * 100).toFixed(1)}`;

/** A model's evaluations on the gate's data (stable's are computed once per cycle). */
export async function evaluateMultiLabelSide(model: tf.LayersModel, data: MultiLabelGateData): Promise<MultiLabelSide> {
  const maybe = (set: ExampleSet | undefined) =>
    set && set.count > 0 ? evaluateMultiLabel(model, set) : Promise.resolve(null);
  return {
    golden: await evaluateMultiLabel(model, data.golden),
    fresh: await maybe(data.fresh),
    replay: await maybe(data.replay),
    earlier: await maybe(data.earlier),
  };
}

/**
 * The best mean Jaccard on `fresh` of a model that answers one label set whatever its input, over the sets the new
 * labels hold (and the empty set).
 */
export function constantSetJaccard(fresh: ExampleSet, allNew: ExampleSet = fresh): number {
  const k = fresh.labels.length;
  const sets = new Set<string>(['']);
  const from = targetsOf(allNew);
  for (let n = 0; n < allNew.count; n++) {
    const on: number[] = [];
    for (let j = 0; j < k; j++) if (from[n * k + j]! > 0.5) on.push(j);
    sets.add(on.join(','));
  }
  const y = targetsOf(fresh);
  let best = 0;
  for (const key of sets) {
    const said = new Set(key === '' ? [] : key.split(',').map(Number));
    let sum = 0;
    for (let n = 0; n < fresh.count; n++) {
      let [inter, union] = [0, 0];
      for (let j = 0; j < k; j++) {
        const truth = y[n * k + j]! > 0.5;
        if (truth && said.has(j)) inter++;
        if (truth || said.has(j)) union++;
      }
      sum += union === 0 ? 1 : inter / union;
    }
    best = Math.max(best, fresh.count ? sum / fresh.count : 0);
  }
  return best;
}

/** Evaluates the candidate (and stable, unless its evaluations are given) and applies every check. */
export async function runMultiLabelGate(
  stable: tf.LayersModel | MultiLabelSide,
  candidate: tf.LayersModel,
  data: MultiLabelGateData,
  options: GateOptions = {},
): Promise<MultiLabelGateResult> {
  const s = 'predict' in stable ? await evaluateMultiLabelSide(stable, data) : stable;
  return judgeMultiLabel(s, await evaluateMultiLabelSide(candidate, data), data, options);
}

/** Applies the gate's checks to stable's and the candidate's evaluations. */
export function judgeMultiLabel(
  s: MultiLabelSide,
  c: MultiLabelSide,
  data: MultiLabelGateData,
  options: GateOptions = {},
): MultiLabelGateResult {
  const o = { ...GATE_DEFAULTS, ...options };
  const { metrics, advice, notes, check } = gateChecks();

  const baseline = data.goldenBaseline ?? s.golden.microF1;
  if (
    !check(
      'golden.microF1',
      s.golden.microF1,
      c.golden.microF1,
      Math.max(s.golden.microF1, baseline) - o.goldenTolerance,
    )
  ) {
    advice.push(
      `golden micro-F1 is ${pts(Math.max(s.golden.microF1, baseline) - c.golden.microF1)} points below ${baseline > s.golden.microF1 ? "the lineage's golden baseline" : "stable's"} (tolerance ${pts(o.goldenTolerance)}): the candidate forgot old skills; more base data to replay, or more new labels`,
    );
  }
  for (const label of data.golden.labels) {
    const [rs, rc] = [s.golden.recall[label], c.golden.recall[label]];
    if (rs == null || rc == null) continue; // the label applies to no golden example
    if (!check(`golden.recall.${label}`, rs, rc, rs - o.recallTolerance)) {
      const n = data.labelCounts?.[label] ?? 0;
      advice.push(
        `label ${label}: golden recall ${pts(rs)} % → ${pts(rc)} % (−${pts(rs - rc)} points, tolerance ${pts(o.recallTolerance)}); the new batches hold ${n} example${n === 1 ? '' : 's'} with label ${label}${n < 20 ? '; label more of them' : ''}`,
      );
    }
  }

  if (s.fresh && c.fresh) {
    // Significance example by example on every held-out correction no version trained on (new, then earlier):
    // z = Σd / √Σd², d the Jaccard difference (with d ∈ {−1, 0, 1} it is the single-label gate's
    // (wins − losses) / √(wins + losses)).
    const n = data.fresh.count;
    const earlierN = s.earlier && c.earlier ? data.earlier!.count : 0;
    const diffs = [
      ...Array.from(c.fresh.perExample, (v, i) => v - s.fresh!.perExample[i]!),
      ...(earlierN ? Array.from(c.earlier!.perExample, (v, i) => v - s.earlier!.perExample[i]!) : []),
    ];
    let [sum, squares, wins, losses] = [0, 0, 0, 0];
    for (const d of diffs) {
      sum += d;
      squares += d * d;
      if (d > EPS) wins++;
      if (d < -EPS) losses++;
    }
    // Too few new held-out examples to show a margin: it is counted on them pooled with the earlier ones.
    const pooled = n < MARGIN_MIN && earlierN > 0;
    const mean = (side: MultiLabelSide) =>
      pooled ? (side.fresh!.jaccard * n + side.earlier!.jaccard * earlierN) / (n + earlierN) : side.fresh!.jaccard;
    const [stableScore, candidateScore] = [mean(s), mean(c)];
    // Stable is wrong on corrections by construction, so the gain is counted from the higher of stable's score and
    // that of the best constant label set: a candidate that learned to answer one set whatever the input gains nothing.
    const constant = pooled
      ? constantSetJaccard(concat(data.fresh, data.earlier!), concat(data.allNew ?? data.fresh, data.earlier!))
      : constantSetJaccard(data.fresh, data.allNew);
    const asked = o.minGain > 0;
    const reference = asked ? Math.max(stableScore, constant) : stableScore;
    const z = squares === 0 ? 0 : sum / Math.sqrt(squares);
    const significant = !asked || o.gainZ <= 0 || z >= o.gainZ;
    const gain = candidateScore - reference;
    const where =
      earlierN > 0 ? `the ${n} new and ${earlierN} earlier held-out corrections` : `the ${n} held-out new examples`;
    if (!check('new.jaccard', stableScore, candidateScore, reference + o.minGain, significant)) {
      const against = reference > stableScore ? `the best constant label set (${pts(constant)} %)` : 'stable';
      const why =
        gain + EPS < o.minGain
          ? `beats ${against} by ${pts(gain)} points of mean Jaccard, needs ${pts(o.minGain)}`
          : `its gain could be chance: on ${where} it did better than stable on ${wins} and worse on ${losses} (z ${z.toFixed(2)}, needs ${o.gainZ})`;
      advice.push(
        `held-out ${pooled ? `new and earlier corrections (${n} + ${earlierN})` : `new examples (${n})`}: the candidate ${why}; ${n < 30 ? 'too few held-out examples to tell: wait for more corrections' : 'the new label sets may be inconsistent (check the review queue), or the drift needs more of them'}`,
      );
    }
    notes.push(
      `on the ${n} held-out new examples: exact match ${pts(s.fresh.exactMatch)} % (stable) → ${pts(c.fresh.exactMatch)} %, mean Jaccard ${pts(s.fresh.jaccard)} % → ${pts(c.fresh.jaccard)} %; corrections are the inputs stable got wrong, so its low score there is expected, and the gain is counted from the higher of it and the best constant label set's ${pts(constant)} % (z ${z.toFixed(2)} on ${where})`,
    );
    if (pooled)
      notes.push(
        `${n} held-out new examples are too few to show a margin (fewer than ${MARGIN_MIN}): new.jaccard is counted on them pooled with the ${earlierN} held-out earlier corrections (stable ${pts(stableScore)} %, candidate ${pts(candidateScore)} %)`,
      );
  } else if (o.minGain > 0) {
    check('new.jaccard', 0, 0, o.minGain);
    advice.push(
      'no held-out new example to measure a gain on: wait for more corrections (the batches are retried with them)',
    );
  }

  if (s.replay && c.replay) {
    if (!check('replay.microF1', s.replay.microF1, c.replay.microF1, s.replay.microF1 - o.replayTolerance)) {
      advice.push(
        `held-out replay micro-F1 fell ${pts(s.replay.microF1 - c.replay.microF1)} points (tolerance ${pts(o.replayTolerance)}) on ${data.replay.count} old examples: the candidate forgot; more replay helps`,
      );
    }
  }
  if (s.earlier && c.earlier) {
    if (!check('earlier.jaccard', s.earlier.jaccard, c.earlier.jaccard, s.earlier.jaccard - o.earlierTolerance)) {
      advice.push(
        `held-out earlier corrections: mean Jaccard fell ${pts(s.earlier.jaccard - c.earlier.jaccard)} points (tolerance ${pts(o.earlierTolerance)}) on ${data.earlier!.count} examples: the candidate lost part of what earlier cycles learned`,
      );
    }
  }
  notes.push(
    `golden exact match ${pts(s.golden.exactMatch)} % (stable) → ${pts(c.golden.exactMatch)} %, mean Jaccard ${pts(s.golden.jaccard)} % → ${pts(c.golden.jaccard)} %`,
  );
  const pass = metrics.every((m) => m.pass);
  const report: GateReport = { pass, metrics, notes };
  if (!pass) report.advice = advice;
  return { report, stable: s, candidate: c };
}
