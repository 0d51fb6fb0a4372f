/**
 * The documents of the HTTP API beyond the core ones in schemas.ts: what the review queue, the batch dry run,
 * the rollout audit log, the registry listing and the metrics report send.
 */
import Type, { type Static } from 'typebox';
import { BlindLoop } from '../blind-loop.js';
import {
  AutoPolicy,
  Batch,
  BatchCounts,
  Label,
  LabelSet,
  ModelName,
  Rollout,
  Sha256Hex,
  Tensor,
  VersionName,
} from '../schemas.js';

const closed = { additionalProperties: false } as const;

/** Batch ids are UUIDs when the collector makes them; any printable ASCII is looked up (and is 404 when unknown). */
export const BatchId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[\\x21-\\x7e]+$' });

/** A free-text reason for a rollout change. */
export const Reason = Type.String({ minLength: 1, maxLength: 500 });

/** `GET /v1/models/:model/labels/pending`: what a freeze would produce now. */
export const PendingLabels = Type.Object(
  {
    model: ModelName,
    pending: Type.Integer({ minimum: 0, description: 'Examples a freeze now would produce (`counts.examples`).' }),
    counts: BatchCounts,
    since: Type.Union([Type.Integer(), Type.Null()], {
      description: "`createdAt` of the model's latest batch; null before the first.",
    }),
    lastBatch: Type.Union([Type.String(), Type.Null()], {
      description: "Id of the model's latest batch; null before the first.",
    }),
  },
  closed,
);

/** One source of a batch: a correction, review or prediction it was made from. */
export const LineageSource = Type.Object(
  { eventId: Type.String(), kind: Type.String(), inputHash: Type.String(), role: Type.String() },
  closed,
);

export const Lineage = Type.Object({ batch: Batch, sources: Type.Array(LineageSource) }, closed);

/** One input waiting for a person: a low-confidence prediction without a trusted label, or a tied vote. */
export const QueueItem = Type.Object(
  {
    inputHash: Sha256Hex,
    reason: Type.Union([Type.Literal('low_confidence'), Type.Literal('tie')]),
    /** The prediction to label (the latest one that carries the input, else the latest). */
    predictionId: Type.String(),
    predicted: Type.Object({ label: Type.String(), confidence: Type.Number() }, closed),
    /** Predictions of this input that put it in the queue. */
    predictions: Type.Integer(),
    firstSeen: Type.Integer(),
    /** The input, when a device uploaded it. */
    input: Type.Union([Tensor, Type.Null()]),
    /** Users' corrections of this input (label and comment are user text: show them escaped). */
    corrections: Type.Array(
      Type.Object(
        {
          /** The label; a label set's canonical text (the labels sorted, as a JSON array). */
          label: Type.String(),
          /** A multi-label model's correction: the label set. */
          labels: Type.Optional(Type.Array(Type.String())),
          deviceId: Type.String(),
          comment: Type.Union([Type.String(), Type.Null()]),
        },
        closed,
      ),
    ),
  },
  closed,
);

export const ReviewQueue = Type.Object(
  {
    total: Type.Integer(),
    items: Type.Array(QueueItem),
    /**
     * The labels a reviewer may give (those of the model's stable version, else of its latest version; label
     * strings are the model's, show them escaped); `null` when the model has no version yet.
     */
    labels: Type.Union([Type.Array(Type.String()), Type.Null()]),
    /** Whether that version is multi-label (`output.kind` "sigmoid"): label it with a set, `labels`. */
    multiLabel: Type.Optional(Type.Boolean()),
  },
  closed,
);

/** A reviewer's label of a prediction's input. */
export const Review = Type.Object(
  {
    id: Type.String(),
    eventId: Type.String(),
    model: Type.String(),
    inputHash: Type.String(),
    /** The label; for a label set, its canonical form (the labels sorted, as a JSON array). */
    label: Type.String(),
    /** The label set of a multi-label model's review. */
    labels: Type.Optional(Type.Array(Type.String())),
    comment: Type.Union([Type.String(), Type.Null()]),
    reviewer: Type.String(),
    createdAt: Type.Integer(),
  },
  closed,
);

export const LabelRequest = Type.Object(
  {
    label: Type.Optional(Label),
    labels: Type.Optional(LabelSet),
    comment: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { ...closed, description: 'exactly one of `label` (single-label models) and `labels` (multi-label models)' },
);

export const RolloutUpdate = Type.Object(
  {
    stable: Type.Union([VersionName, Type.Null()]),
    canary: Type.Union([VersionName, Type.Null()]),
    canaryPercent: Type.Number({ minimum: 0, maximum: 100 }),
    auto: Type.Optional(Type.Union([AutoPolicy, Type.Null()], { description: 'omitted: keep the current policy' })),
    reason: Type.Optional(Reason),
  },
  closed,
);

export const AuditAction = Type.Union([
  Type.Literal('publish'),
  Type.Literal('set'),
  Type.Literal('promote'),
  Type.Literal('rollback'),
  Type.Literal('auto.step'),
  Type.Literal('auto.promote'),
  Type.Literal('auto.rollback'),
  Type.Literal('auto.hold'),
  Type.Literal('canary'),
  Type.Literal('percent'),
  Type.Literal('pause'),
  Type.Literal('resume'),
]);

/** One line of a model's rollout history: who did what, why, and the rollout before and after. */
export const AuditEntry = Type.Object({
  seq: Type.Integer(),
  at: Type.Integer(),
  actor: Type.String(),
  action: AuditAction,
  reason: Type.String(),
  before: Type.Union([Rollout, Type.Null()]),
  after: Rollout,
  /** What a controller decision was based on (the compared metrics). */
  details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
});

export const RolloutHistory = Type.Object({ model: ModelName, entries: Type.Array(AuditEntry) });

/** One model as the registry lists it, with its rollout. */
export const ModelEntry = Type.Object({
  model: ModelName,
  versions: Type.Integer(),
  latest: VersionName,
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
  stable: Type.Union([VersionName, Type.Null()]),
  canary: Type.Union([VersionName, Type.Null()]),
  canaryPercent: Type.Number(),
});

const Rate = Type.Union([Type.Number(), Type.Null()]);
export const Drift = Type.Object({ label: Rate, confidence: Rate });
const figures = {
  predictions: Type.Integer(),
  lowConfidence: Type.Integer(),
  corrections: Type.Integer(),
  errors: Type.Integer(),
  lowConfidenceRate: Rate,
  /**
   * Corrections ÷ predictions over the same stats windows (a device counts both in its 60 s window), so it
   * never exceeds 1; `null` without predictions. Correction events whose window has not arrived yet are
   * in `unmatchedCorrections`, not in this rate.
   */
  correctionRate: Rate,
  /** Correction events beyond those the stats windows counted: their window is still on its way (or never came). */
  unmatchedCorrections: Type.Integer({ minimum: 0 }),
  /** errors / (predictions + errors). */
  errorRate: Rate,
  /** Mean top-1 confidence, estimated from the 10-bin histogram (each bin at its centre); null without predictions. */
  meanConfidence: Rate,
  latencyMs: Type.Object({ p50: Rate, p95: Rate }),
  drift: Drift,
};
export const SeriesPoint = Type.Object({ from: Type.Integer(), to: Type.Integer(), ...figures });
export const VersionReport = Type.Object({
  version: VersionName,
  channel: Type.Union([Type.Literal('stable'), Type.Literal('canary'), Type.Null()]),
  ...figures,
  confidenceHist: Type.Array(Type.Integer()),
  labelCounts: Type.Record(Type.String(), Type.Integer()),
  /** The blind-loop guard over the whole window (`blindLoopOf` with `BLIND_LOOP_DEFAULTS`). */
  blindLoop: BlindLoop,
  series: Type.Array(SeriesPoint),
});

/** `GET /v1/models/:model/metrics`: per version, totals over [since, until) and a series per time bucket. */
export const MetricsReport = Type.Object({
  model: ModelName,
  since: Type.Integer(),
  until: Type.Integer(),
  bucketSec: Type.Number(),
  stable: Type.Union([VersionName, Type.Null()]),
  canary: Type.Union([VersionName, Type.Null()]),
  canaryPercent: Type.Number(),
  /** The version drift is measured against (stable), or null when there is none. */
  reference: Type.Union([VersionName, Type.Null()]),
  versions: Type.Array(VersionReport),
});

/** One side of the canary analysis: the figures the controller compares, over its current window. */
export const SideFigures = Type.Object(
  {
    version: VersionName,
    predictions: Type.Integer(),
    lowConfidence: Type.Integer(),
    corrections: Type.Integer(),
    errors: Type.Integer(),
    lowConfidenceRate: Rate,
    /** The controller's rate: the larger of correction events and stats-window counts, over predictions. */
    correctionRate: Rate,
    errorRate: Rate,
  },
  closed,
);

/**
 * `GET /v1/models/:model/rollout/decision`: what the automatic canary would decide if it judged now, and when
 * it will. `state` says why it may not act: no canary, no policy (manual), paused, or waiting for its interval.
 */
export const CanaryDecision = Type.Object(
  {
    model: ModelName,
    rollout: Rollout,
    state: Type.Union([
      Type.Literal('no-canary'),
      Type.Literal('manual'),
      Type.Literal('paused'),
      Type.Literal('waiting'),
      Type.Literal('due'),
    ]),
    /** The analysis window: from the start of the current stable/canary/percent phase until now. */
    window: Type.Union([Type.Object({ since: Type.Integer(), until: Type.Integer() }, closed), Type.Null()]),
    /** When the controller judges next (ms since epoch), null when it will not (no canary, manual, paused). */
    dueAt: Type.Union([Type.Integer(), Type.Null()]),
    stable: Type.Union([SideFigures, Type.Null()]),
    canary: Type.Union([SideFigures, Type.Null()]),
    /** The verdict on the window so far; `percent` is the next canary percent of a step. */
    next: Type.Union([
      Type.Object(
        {
          action: Type.Union([
            Type.Literal('step'),
            Type.Literal('promote'),
            Type.Literal('rollback'),
            Type.Literal('hold'),
          ]),
          reason: Type.String(),
          percent: Type.Union([Type.Number(), Type.Null()]),
        },
        closed,
      ),
      Type.Null(),
    ]),
    /** One sentence for a person: what happens next and why. */
    summary: Type.String(),
  },
  closed,
);

/** `POST .../rollout/canary`: start (or replace) the canary with `version` at `percent`. */
export const StartCanaryRequest = Type.Object(
  { version: VersionName, percent: Type.Number({ minimum: 0.01, maximum: 100 }), reason: Reason },
  closed,
);

/** `POST .../rollout/percent`: raise the live canary's percent (it never goes down: roll back instead). */
export const CanaryPercentRequest = Type.Object(
  { percent: Type.Number({ minimum: 0.01, maximum: 100 }), reason: Reason },
  closed,
);

/** The body of pause and resume: the reason is required. */
export const RequiredReason = Type.Object({ reason: Reason }, closed);

/** `GET /v1/models/:model/blind-loop`: the blind-loop guard per version, for a trainer's publish check. */
export const BlindLoopReport = Type.Object(
  {
    model: ModelName,
    since: Type.Integer(),
    until: Type.Integer(),
    versions: Type.Array(
      Type.Object(
        {
          version: VersionName,
          channel: Type.Union([Type.Literal('stable'), Type.Literal('canary'), Type.Null()]),
          confidenceHist: Type.Array(Type.Integer()),
          blindLoop: BlindLoop,
        },
        closed,
      ),
    ),
  },
  closed,
);

export type PendingLabels = Static<typeof PendingLabels>;
export type LineageSource = Static<typeof LineageSource>;
export type Lineage = Static<typeof Lineage>;
export type QueueItem = Static<typeof QueueItem>;
export type ReviewQueue = Static<typeof ReviewQueue>;
export type Review = Static<typeof Review>;
export type LabelRequest = Static<typeof LabelRequest>;
export type RolloutUpdate = Static<typeof RolloutUpdate>;
export type AuditAction = Static<typeof AuditAction>;
export type AuditEntry = Static<typeof AuditEntry>;
export type RolloutHistory = Static<typeof RolloutHistory>;
export type ModelEntry = Static<typeof ModelEntry>;
export type Drift = Static<typeof Drift>;
export type SeriesPoint = Static<typeof SeriesPoint>;
export type VersionReport = Static<typeof VersionReport>;
export type MetricsReport = Static<typeof MetricsReport>;
export type BlindLoopReport = Static<typeof BlindLoopReport>;
export type SideFigures = Static<typeof SideFigures>;
export type CanaryDecision = Static<typeof CanaryDecision>;
export type StartCanaryRequest = Static<typeof StartCanaryRequest>;
export type CanaryPercentRequest = Static<typeof CanaryPercentRequest>;
export type RequiredReason = Static<typeof RequiredReason>;
