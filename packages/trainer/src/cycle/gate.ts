/**
 * GoldenGate: a candidate is published only if it learned something and broke nothing that matters —
 *  - golden set accuracy within a tolerance of stable's, and no class's golden recall dropping past a tolerance;
 *  - a gain on held-out new examples: the candidate beats stable there, and a model that always answers the most
 *    common label, by a minimum (points); and by more than chance, counted on every held-out correction no version
 *    trained on (the new batches', and earlier ones' a cycle rehearses) (a candidate that learned nothing, or learned
 *    labels that carry no information, is never published);
 *  - no regression on a held-out slice of the replayed old data, nor on held-out earlier corrections.
 * Every check is reported (stable, candidate, threshold, pass); a failed gate also says what went wrong, by how
 * much, for which classes, and what would help.
 */
import type * as tf from '@tensorflow/tfjs';
import type { GateMetric } from '@edgeloop/protocol';
import { concat, labelCounts, type ExampleSet } from '../data/examples.js';
import { evaluateModel, predictLabels, type Evaluation } from '../train/evaluate.js';

export interface GateOptions {
  /** Golden accuracy may be at most this much below stable's (fraction; default 0.005 = 0.5 points). */
  goldenTolerance?: number;
  /**
   * A class's golden recall may drop at most this much (fraction; default 0.05 = 5 points). With ~150 golden
   * examples per class a recall is only known to about ±2.4 points (one standard error), so a tighter default
   * would reject good candidates on noise alone.
   */
  recallTolerance?: number;
  /** The candidate must beat stable on held-out new examples by at least this much (fraction; default 0.05). */
  minGain?: number;
  /**
   * ...and beat stable by more than chance: (wins − losses) / √(wins + losses) ≥ this, where wins are held-out
   * corrections no version trained on (new, and earlier ones a cycle rehearses) only the candidate gets right, and
   * losses those only stable gets right (default 1.28, one-sided 90 %). 0 turns it off.
   */
  gainZ?: number;
  /** Held-out replay accuracy may be at most this much below stable's (fraction; default 0.01 = 1 point). */
  replayTolerance?: number;
  /**
   * Accuracy on held-out earlier corrections (what earlier cycles learned) may be at most this much below stable's
   * (fraction; default 0.05: these sets are small, tens of examples, so one example is several points).
   */
  earlierTolerance?: number;
}

export const GATE_DEFAULTS: Required<GateOptions> = {
  goldenTolerance: 0.005,
  recallTolerance: 0.05,
  minGain: 0.05,
  gainZ: 1.28,
  replayTolerance: 0.01,
  earlierTolerance: 0.05,
};

export interface GateReport {
  pass: boolean;
  metrics: GateMetric[];
  /** For a failed gate: what would help, one line per failed check. */
  advice?: string[];
  /** Facts a reader needs to read the numbers (e.g. why stable scores about 0 % on corrections). */
  notes?: string[];
  /** The published candidate's temperature and its expected calibration error before and after it. */
  calibration?: CalibrationReport;
}

export interface CalibrationReport {
  temperature: number;
  ece: { before: number; after: number };
  /** Held-out examples the temperature was fitted on, and those the ECE was measured on. */
  fittedOn: number;
  measuredOn: number;
}

/** What the gate evaluates on: never trained on, never used to choose between candidates. */
export interface GateData {
  golden: ExampleSet;
  /** Held-out new examples (the batches' validation split, plus a held-out part of their training split). */
  fresh: ExampleSet;
  /** A held-out slice of the replay data. */
  replay: ExampleSet;
  /** Held-out earlier corrections: examples of earlier batches no version trained on (optional). */
  earlier?: ExampleSet;
  /**
   * The lineage's golden baseline: the golden accuracy of the first version gated on this golden set. The candidate
   * must stay within the golden tolerance of it as well as of stable's, so that small losses cannot add up over
   * cycles (optional: absent in a lineage's first cycle).
   */
  goldenBaseline?: number;
  /** Labeled examples per class in the new batches (for advice). */
  labelCounts?: Record<string, number>;
}

export interface GateResult {
  report: GateReport;
  stable: { golden: Evaluation; fresh: Evaluation | null; replay: Evaluation | null; earlier: Evaluation | null };
  candidate: { golden: Evaluation; fresh: Evaluation | null; replay: Evaluation | null; earlier: Evaluation | null };
}

/**
 * Fewer held-out new examples than this cannot show the gain's margin (one example moves it by 5 points or more): the
 * margin is then asked on them pooled with the held-out earlier corrections. A batch of a few dozen corrections (a
 * second cycle on a drift the first one learned) has 2–7.
 */
export const MARGIN_MIN = 20;

// Accuracies are ratios of counts: compare with a little slack so equal counts never fail on float rounding.
const EPS = 1e-9;
const pts = (v: number) => `${(v * 100).toFixed(1)}`;

/** Stable's evaluations, computed once per cycle and shared by every candidate the gate sees. */
export async function evaluateStable(
  stable: tf.LayersModel,
  data: GateData,
): Promise<GateResult['stable'] & { gainPredicted: Int32Array }> {
  const gainPredicted = await predictLabels(stable, gainSet(data));
  return {
    golden: await evaluateModel(stable, data.golden),
    fresh: await evalOrNull(stable, data.fresh),
    replay: await evalOrNull(stable, data.replay),
    earlier: await evalOrNull(stable, data.earlier),
    gainPredicted,
  };
}

/**
 * Where the gain's significance is counted: every held-out correction no version trained on — the new batches' and,
 * when a cycle rehearses them, earlier batches'. A second cycle on a drift draws few corrections (the first one
 * learned most of it), too few to tell a gain from chance alone; the earlier held-out corrections are as unseen by
 * stable as the new ones, and a candidate that learned more of the drift gets more of them right.
 */
function gainSet(data: GateData): ExampleSet {
  return data.earlier && data.earlier.count > 0 ? concat(data.fresh, data.earlier) : data.fresh;
}

async function evalOrNull(model: tf.LayersModel, set: ExampleSet | undefined): Promise<Evaluation | null> {
  return set && set.count > 0 ? evaluateModel(model, set) : null;
}

/**
 * A gate's report in the making: `check` records a metric (stable, candidate, threshold) and whether it passes
 * (the candidate at or above the threshold, and `extra`); `advice` and `notes` collect the report's lines.
 */
export function gateChecks() {
  const metrics: GateMetric[] = [];
  const advice: string[] = [];
  const notes: string[] = [];
  const check = (name: string, stableValue: number, candidateValue: number, threshold: number, extra = true) => {
    const pass = candidateValue >= threshold - EPS && extra;
    metrics.push({ name, stable: stableValue, candidate: candidateValue, threshold, pass });
    return pass;
  };
  return { metrics, advice, notes, check };
}

/** Evaluates the candidate (and stable, unless given) on the gate's data and applies every check. */
export async function runGate(
  stable: tf.LayersModel | Awaited<ReturnType<typeof evaluateStable>>,
  candidate: tf.LayersModel,
  data: GateData,
  options: GateOptions = {},
): Promise<GateResult> {
  const o = { ...GATE_DEFAULTS, ...options };
  const s = 'predict' in stable ? await evaluateStable(stable, data) : stable;
  const pool = gainSet(data);
  const candidatePredicted = await predictLabels(candidate, pool);
  const c = {
    golden: await evaluateModel(candidate, data.golden),
    fresh: await evalOrNull(candidate, data.fresh),
    replay: await evalOrNull(candidate, data.replay),
    earlier: await evalOrNull(candidate, data.earlier),
  };
  const { metrics, advice, notes, check } = gateChecks();

  const baseline = data.goldenBaseline ?? s.golden.accuracy;
  if (
    !check(
      'golden.accuracy',
      s.golden.accuracy,
      c.golden.accuracy,
      Math.max(s.golden.accuracy, baseline) - o.goldenTolerance,
    )
  ) {
    const help =
      'the candidate forgot old skills; more replay, or more new labels so that less interpolation is needed';
    advice.push(
      baseline > s.golden.accuracy
        ? `golden accuracy is ${pts(baseline - c.golden.accuracy)} points below the lineage's golden baseline (${pts(baseline)} %, its first version on this golden set; tolerance ${pts(o.goldenTolerance)}): losses add up over cycles; ${help}`
        : `golden accuracy fell ${pts(s.golden.accuracy - c.golden.accuracy)} points (tolerance ${pts(o.goldenTolerance)}): ${help}`,
    );
  }
  for (const label of data.golden.labels) {
    const rs = s.golden.recall[label];
    const rc = c.golden.recall[label];
    if (rs == null || rc == null) continue; // no golden example of this class
    if (!check(`golden.recall.${label}`, rs, rc, rs - o.recallTolerance)) {
      const n = data.labelCounts?.[label] ?? 0;
      advice.push(
        `class ${label}: golden recall ${pts(rs)} % → ${pts(rc)} % (−${pts(rs - rc)} points, tolerance ${pts(o.recallTolerance)}); the new batches hold ${n} label${n === 1 ? '' : 's'} of class ${label}${n < 20 ? `; label more of it in the review queue` : ''}`,
      );
    }
  }

  if (s.fresh && c.fresh) {
    // The margin is asked on the held-out NEW examples: what this batch taught. The significance test counts wins and
    // losses against stable on every held-out correction no version trained on (the new ones, and earlier ones a
    // cycle rehearses), so a second cycle's few corrections are not judged by chance alone — but a candidate that
    // only got better at earlier corrections, and learned nothing (or noise) from the new batch, still fails.
    // A batch with fewer than MARGIN_MIN held-out examples cannot show a margin (one example is 5 to 100 points): then
    // the margin is asked on every held-out correction of the pool, as the significance is.
    let [wins, losses, stableRight, candidateRight] = [0, 0, 0, 0];
    for (let i = 0; i < pool.count; i++) {
      const [sr, cr] = [s.gainPredicted[i] === pool.y[i], candidatePredicted[i] === pool.y[i]];
      if (cr && !sr) wins++;
      if (sr && !cr) losses++;
      if (sr) stableRight++;
      if (cr) candidateRight++;
    }
    const n = data.fresh.count;
    const earlierN = pool.count - n;
    const pooled = n < MARGIN_MIN && earlierN > 0;
    const [stableAcc, candidateAcc] = pooled
      ? [stableRight / pool.count, candidateRight / pool.count]
      : [s.fresh.accuracy, c.fresh.accuracy];
    const zStable = wins + losses === 0 ? 0 : (wins - losses) / Math.sqrt(wins + losses);
    // Stable scores about 0 % on corrections by construction, so beating it is not enough: a model that ignored its
    // input and always answered the labels' most common class would score that class's share. The gain is
    // counted from whichever is higher.
    // The most common label's share, from every new label (the held-out part alone is too small to estimate it).
    const newCounts = data.labelCounts ?? labelCounts(data.fresh);
    const earlierCounts = pooled ? labelCounts(data.earlier!) : {};
    const counts = [...new Set([...Object.keys(newCounts), ...Object.keys(earlierCounts)])].map(
      (l) => (newCounts[l] ?? 0) + (earlierCounts[l] ?? 0),
    );
    const majority =
      Math.max(...counts) /
      Math.max(
        1,
        counts.reduce((a, b) => a + b, 0),
      );
    // No gain asked for (minGain ≤ 0): the candidate need only match stable, as the gate of the fixed recipe did.
    const asked = o.minGain > 0;
    const reference = asked ? Math.max(stableAcc, majority) : stableAcc;
    const significant = !asked || o.gainZ <= 0 || zStable >= o.gainZ;
    const gain = candidateAcc - reference;
    const where =
      earlierN > 0 ? `the ${n} new and ${earlierN} earlier held-out corrections` : `the ${n} held-out new examples`;
    if (!check('new.accuracy', stableAcc, candidateAcc, reference + o.minGain, significant)) {
      const against = reference > stableAcc ? `the labels' most common class (${pts(majority)} % of them)` : 'stable';
      const why =
        gain + EPS < o.minGain
          ? `beats ${against} by ${pts(gain)} points, needs ${pts(o.minGain)}`
          : `its gain could be chance: on ${where} it won ${wins} and lost ${losses} against stable (z ${zStable.toFixed(2)}, needs ${o.gainZ})`;
      advice.push(
        `held-out ${pooled ? `new and earlier corrections (${n} + ${earlierN})` : `new examples (${n})`}: the candidate ${why}; ${n < 30 ? 'too few held-out examples to tell: wait for more corrections' : 'the new labels may be inconsistent (check the review queue), or the drift needs more of them'}`,
      );
    }
    notes.push(
      `stable scores ${pts(s.fresh.accuracy)} % on the ${n} held-out new examples: corrections are the inputs stable got wrong, so about 0 % is expected there; the gain is counted from the higher of that and the most common label's share (${pts(majority)} %); on ${where}: ${wins} won, ${losses} lost against stable`,
    );
    if (pooled)
      notes.push(
        `${n} held-out new examples are too few to show a margin (fewer than ${MARGIN_MIN}): new.accuracy is counted on them pooled with the ${earlierN} held-out earlier corrections (stable ${pts(stableAcc)} %, candidate ${pts(candidateAcc)} %)`,
      );
  } else if (o.minGain > 0) {
    // No held-out new example: nothing shows a gain, so none is assumed.
    check('new.accuracy', 0, 0, o.minGain);
    advice.push(
      'no held-out new example to measure a gain on: wait for more corrections (the batches are retried with them)',
    );
  }

  if (s.replay && c.replay) {
    if (!check('replay.accuracy', s.replay.accuracy, c.replay.accuracy, s.replay.accuracy - o.replayTolerance)) {
      advice.push(
        `held-out replay accuracy fell ${pts(s.replay.accuracy - c.replay.accuracy)} points (tolerance ${pts(o.replayTolerance)}) on ${data.replay.count} old examples: the candidate forgot; more replay helps`,
      );
    }
  }
  if (s.earlier && c.earlier) {
    if (!check('earlier.accuracy', s.earlier.accuracy, c.earlier.accuracy, s.earlier.accuracy - o.earlierTolerance)) {
      advice.push(
        `held-out earlier corrections: accuracy fell ${pts(s.earlier.accuracy - c.earlier.accuracy)} points (tolerance ${pts(o.earlierTolerance)}) on ${data.earlier!.count} examples: the candidate lost part of what earlier cycles learned`,
      );
    }
  }
  const thin = Object.entries(data.labelCounts ?? {})
    .filter(([, n]) => n > 0 && n < 5)
    .map(([l, n]) => `${l} (${n})`);
  if (thin.length) notes.push(`classes with fewer than 5 new labels: ${thin.join(', ')}`);
  const pass = metrics.every((m) => m.pass);
  const report: GateReport = { pass, metrics, notes };
  if (!pass) report.advice = advice;
  return { report, stable: { golden: s.golden, fresh: s.fresh, replay: s.replay, earlier: s.earlier }, candidate: c };
}

/** The gate report as aligned text lines (metric, stable, candidate, threshold, pass/FAIL), then notes and advice. */
export function formatGate(report: GateReport): string {
  const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(2)} %`);
  const rows = report.metrics.map((m) => [
    m.name,
    pct(m.stable),
    pct(m.candidate),
    `≥ ${pct(m.threshold)}`,
    m.pass ? 'pass' : 'FAIL',
  ]);
  const head = ['metric', 'stable', 'candidate', 'threshold', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [
    line(head),
    ...rows.map(line),
    `gate: ${report.pass ? 'PASS' : 'FAIL'}`,
    ...(report.calibration
      ? [
          `calibration: temperature ${report.calibration.temperature}; ECE ${pct(report.calibration.ece.before)} → ${pct(report.calibration.ece.after)} on ${report.calibration.measuredOn} held-out examples`,
        ]
      : []),
    ...(report.notes ?? []).map((n) => `note: ${n}`),
    ...(report.advice ?? []).map((a) => `to pass: ${a}`),
  ].join('\n');
}
