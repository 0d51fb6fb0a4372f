/**
 * One source for the wire contracts: TypeBox schemas give both the TypeScript types (`Static`) and the JSON
 * Schemas the collector validates with. Every object is closed (`additionalProperties: false`).
 */
import Type, { type Static, type TSchema } from 'typebox';

const closed = { additionalProperties: false } as const;

export const Uuid = Type.String({
  pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$',
  description: 'UUID (v7 for ids made by edgeloop), lower case',
});
export const ModelName = Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$', maxLength: 64 });
export const VersionName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$', maxLength: 64 });
export const DeviceId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$' });
export const Sha256Hex = Type.String({ pattern: '^[0-9a-f]{64}$' });
export const Label = Type.String({ minLength: 1, maxLength: 64 });
/** At most this many labels in one label set (a multi-label model's correction or example). */
export const MAX_LABEL_SET = 256;
/**
 * A multi-label model's labels for one input: each label at most once, in any order; empty means that none of the
 * model's labels applies.
 */
export const LabelSet = Type.Array(Label, {
  uniqueItems: true,
  maxItems: MAX_LABEL_SET,
  description: "a multi-label (sigmoid) model's labels for the input; [] = none applies",
});
export const Timestamp = Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000 });
const Count = Type.Integer({ minimum: 0, maximum: 1e12 });
const Probability = Type.Number({ minimum: 0, maximum: 1 });
const Millis = Type.Number({ minimum: 0, maximum: 3.6e6 });

const base = {
  id: Uuid,
  model: ModelName,
  version: VersionName,
  deviceId: DeviceId,
  ts: Timestamp,
};

export const Tensor = Type.Object(
  {
    dtype: Type.Union([Type.Literal('float32'), Type.Literal('uint8')]),
    shape: Type.Array(Type.Integer({ minimum: 1, maximum: 65536 }), { minItems: 1, maxItems: 8 }),
    data: Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$', maxLength: 1_048_576 }),
  },
  closed,
);

export const PredictionEvent = Type.Object(
  {
    ...base,
    type: Type.Literal('prediction'),
    reason: Type.Union([Type.Literal('low_confidence'), Type.Literal('sample'), Type.Literal('reported')]),
    input: Type.Optional(Tensor),
    inputHash: Sha256Hex,
    output: Type.Object(
      {
        label: Label,
        confidence: Probability,
        topK: Type.Array(Type.Object({ label: Label, p: Probability }, closed), { maxItems: 100 }),
        /** A multi-label (sigmoid) model's predicted set: every label at probability 0.5 or more. */
        labels: Type.Optional(LabelSet),
      },
      closed,
    ),
    engine: Type.String({ minLength: 1, maxLength: 64 }),
    latencyMs: Millis,
  },
  closed,
);

export const CorrectionEvent = Type.Object(
  {
    ...base,
    type: Type.Literal('correction'),
    predictionId: Uuid,
    label: Type.Optional(Label),
    labels: Type.Optional(LabelSet),
    comment: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  {
    ...closed,
    description:
      'exactly one of `label` (the right label, single-label models) and `labels` (the right label set, multi-label models)',
  },
);

export const StatsEvent = Type.Object(
  {
    ...base,
    type: Type.Literal('stats'),
    from: Timestamp,
    to: Timestamp,
    predictions: Count,
    lowConfidence: Count,
    corrections: Count,
    errors: Count,
    dropped: Type.Optional(Count),
    latencyMs: Type.Object({ p50: Millis, p95: Millis }, closed),
    confidenceHist: Type.Array(Count, { minItems: 10, maxItems: 10 }),
    labelCounts: Type.Record(Label, Count, { maxProperties: 1000 }),
  },
  closed,
);

export const ErrorEvent = Type.Object(
  {
    ...base,
    type: Type.Literal('error'),
    code: Type.String({ minLength: 1, maxLength: 64 }),
    message: Type.String({ maxLength: 2000 }),
  },
  closed,
);

export const Event = Type.Union([PredictionEvent, CorrectionEvent, StatsEvent, ErrorEvent]);

export const MAX_EVENTS_PER_REQUEST = 500;
export const MAX_BODY_BYTES = 1_048_576;

/** The body of `POST /v1/events`: each event is validated on its own so one bad event is rejected alone. */
export const IngestRequest = Type.Object(
  { events: Type.Array(Type.Unknown(), { maxItems: MAX_EVENTS_PER_REQUEST }) },
  closed,
);

export const Rejection = Type.Object(
  { index: Type.Integer({ minimum: 0 }), code: Type.String(), message: Type.String() },
  closed,
);

export const IngestResponse = Type.Object(
  { accepted: Type.Integer(), duplicates: Type.Integer(), rejected: Type.Array(Rejection) },
  closed,
);

export const ErrorResponse = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.String(),
    error: Type.String(),
    message: Type.String(),
  },
  { additionalProperties: true },
);

export const ArtifactFormat = Type.Union([Type.Literal('onnx'), Type.Literal('tfjs-layers')]);

export const Artifact = Type.Object(
  {
    format: ArtifactFormat,
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' }),
    url: Type.String(),
    sha256: Sha256Hex,
    bytes: Type.Integer({ minimum: 0 }),
  },
  closed,
);

/** How the model's first input lays out an image: channels last (`nhwc`, TF.js) or channels first (`nchw`, PyTorch). */
export const InputLayout = Type.Union([Type.Literal('nhwc'), Type.Literal('nchw')], {
  description: "the model's input layout; absent: `nhwc` (the model takes `[1, ...shape]`)",
});

/**
 * The model's input. `shape` is one example as the app passes it and as it is captured (no batch dimension,
 * channels last: `[H, W, C]` for an image); `layout: 'nchw'` says the model takes `[1, C, H, W]`, and the runtime
 * transposes. `dtype` is the element type of the app's input and of the model's input tensor.
 */
export const InputSpec = Type.Object(
  {
    shape: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 8 }),
    dtype: Type.Union([Type.Literal('float32'), Type.Literal('uint8')]),
    normalize: Type.Object(
      {
        scale: Type.Number(),
        offset: Type.Number(),
        mean: Type.Optional(
          Type.Array(Type.Number(), {
            minItems: 1,
            maxItems: 64,
            description: 'per channel (the last axis of `shape`)',
          }),
        ),
        std: Type.Optional(
          Type.Array(Type.Number({ exclusiveMinimum: 0 }), {
            minItems: 1,
            maxItems: 64,
            description: 'per channel (the last axis of `shape`)',
          }),
        ),
      },
      {
        ...closed,
        description:
          'model input = (raw * scale + offset − mean[c]) / std[c], c the channel (mean 0 and std 1 when absent)',
      },
    ),
    layout: Type.Optional(InputLayout),
  },
  closed,
);

export const Policy = Type.Object({ lowConfidence: Probability, sampleRate: Probability }, closed);

/**
 * What the model's first output holds: `probabilities` (one distribution over the labels; the default),
 * `logits` (unnormalised scores: the runtime applies softmax) or `sigmoid` (multi-label: one logit per label, the
 * runtime applies the logistic sigmoid to each on its own).
 */
export const OutputKind = Type.Union([Type.Literal('probabilities'), Type.Literal('logits'), Type.Literal('sigmoid')], {
  description: 'absent: `probabilities`',
});

/** What the model's output means to the runtime: its kind, and a temperature that divides the logits (calibration). */
export const OutputSpec = Type.Object(
  {
    kind: Type.Optional(OutputKind),
    temperature: Type.Optional(
      Type.Number({
        minimum: 0.01,
        maximum: 100,
        description:
          'runtime scores softmax(z / temperature), z the logits (log p for probabilities), or sigmoid(z / temperature) per label',
      }),
    ),
  },
  closed,
);

export const Channel = Type.Union([Type.Literal('stable'), Type.Literal('canary')]);

export const Manifest = Type.Object(
  {
    model: ModelName,
    version: VersionName,
    channel: Channel,
    artifacts: Type.Array(Artifact),
    labels: Type.Array(Label),
    input: InputSpec,
    output: Type.Optional(OutputSpec),
    policy: Policy,
    pollAfterSec: Type.Integer({ minimum: 1 }),
  },
  closed,
);

export const AutoPolicy = Type.Object(
  {
    stepPercent: Type.Number({ minimum: 0.01, maximum: 100 }),
    maxPercent: Type.Number({ minimum: 0.01, maximum: 100 }),
    intervalSec: Type.Integer({ minimum: 1, maximum: 86_400 }),
    minSamples: Type.Integer({ minimum: 1 }),
    maxCorrectionRateDelta: Type.Number({ minimum: 0, maximum: 1 }),
    /** Set by `POST .../rollout/pause`: the controller leaves the canary alone until `.../resume`. */
    paused: Type.Optional(Type.Boolean()),
  },
  closed,
);

export const Rollout = Type.Object(
  {
    stable: Type.Union([VersionName, Type.Null()]),
    canary: Type.Union([VersionName, Type.Null()]),
    canaryPercent: Type.Number({ minimum: 0, maximum: 100 }),
    auto: Type.Union([AutoPolicy, Type.Null()]),
  },
  closed,
);

export const BatchCounts = Type.Object(
  {
    examples: Type.Integer(),
    train: Type.Integer(),
    val: Type.Integer(),
    byLabel: Type.Record(Type.String(), Type.Integer()),
    reviewed: Type.Integer(),
    voted: Type.Integer(),
    tiesSentToReview: Type.Integer(),
    cappedByDevice: Type.Integer(),
    /** Labeled inputs that cannot be trained on: their bytes were never uploaded (capture off) or did not match inputHash. */
    withoutInput: Type.Optional(Type.Integer()),
    /** Labeled inputs left out because they are in the model's golden set. */
    excludedGolden: Type.Optional(Type.Integer()),
    /**
     * Events the examples came from: each example's input and its label sources, as many as the batch's lineage
     * lists (so a list of batches can say it without downloading each lineage). Absent on older batches.
     */
    events: Type.Optional(Type.Integer()),
  },
  closed,
);

export const Batch = Type.Object(
  {
    id: Type.String(),
    model: ModelName,
    sha256: Sha256Hex,
    counts: BatchCounts,
    createdAt: Timestamp,
    golden: Type.Boolean(),
  },
  closed,
);

export const Split = Type.Union([Type.Literal('train'), Type.Literal('val'), Type.Literal('golden')]);

/**
 * One line of `GET /v1/batches/:id/examples` (NDJSON), and one example of a golden set or base data: `label` for a
 * single-label model, `labels` (the example's label set, multi-hot for training) for a multi-label one — exactly one.
 */
export const Example = Type.Object(
  { inputHash: Sha256Hex, input: Tensor, label: Type.Optional(Label), labels: Type.Optional(LabelSet), split: Split },
  { ...closed, description: 'exactly one of `label` (single-label models) and `labels` (multi-label models)' },
);

/**
 * One item of `GET /v1/models/:model/unreported`: a kept prediction (low-confidence or sampled, uploaded with its
 * input) whose input no one corrected or reviewed.
 */
export const UnreportedPrediction = Type.Object(
  {
    predictionId: Uuid,
    inputHash: Sha256Hex,
    input: Tensor,
    /** What the version predicted, and its confidence. */
    label: Label,
    /** A multi-label model's predicted set, when the device sent it (`output.labels`). */
    labels: Type.Optional(LabelSet),
    confidence: Probability,
    reason: Type.Union([Type.Literal('low_confidence'), Type.Literal('sample')]),
    /** The device's time of the prediction. */
    ts: Timestamp,
    /** The collector's time of arrival, which `settledMs` is measured from. */
    receivedAt: Timestamp,
  },
  closed,
);

export const GateMetric = Type.Object(
  {
    name: Type.String(),
    stable: Type.Union([Type.Number(), Type.Null()]),
    candidate: Type.Number(),
    threshold: Type.Number(),
    pass: Type.Boolean(),
  },
  closed,
);

export const GateReport = Type.Object(
  {
    pass: Type.Boolean(),
    metrics: Type.Array(GateMetric),
    advice: Type.Optional(Type.Array(Type.String())),
    notes: Type.Optional(Type.Array(Type.String())),
    calibration: Type.Optional(
      Type.Object(
        {
          temperature: Type.Number(),
          ece: Type.Object({ before: Type.Number(), after: Type.Number() }, closed),
          fittedOn: Type.Integer({ minimum: 0 }),
          measuredOn: Type.Integer({ minimum: 0 }),
        },
        closed,
      ),
    ),
  },
  closed,
);

/** The `meta` part of `POST /v1/models/:model/versions`. */
export const VersionMeta = Type.Object(
  {
    version: Type.Optional(VersionName),
    parent: Type.Union([VersionName, Type.Null()]),
    batches: Type.Array(Type.String()),
    metrics: Type.Record(Type.String(), Type.Number()),
    labels: Type.Array(Label, { minItems: 1 }),
    input: InputSpec,
    policy: Type.Optional(Policy),
    output: Type.Optional(OutputSpec),
    gate: Type.Optional(GateReport),
    trainer: Type.Record(Type.String(), Type.Unknown()),
    codeVersion: Type.String({ maxLength: 128 }),
  },
  closed,
);

export const Version = Type.Object(
  {
    model: ModelName,
    version: VersionName,
    createdAt: Timestamp,
    createdBy: Type.String(),
    artifacts: Type.Array(Artifact),
    meta: VersionMeta,
  },
  closed,
);

export type Event = Static<typeof Event>;
export type PredictionEvent = Static<typeof PredictionEvent>;
export type CorrectionEvent = Static<typeof CorrectionEvent>;
export type StatsEvent = Static<typeof StatsEvent>;
export type ErrorEvent = Static<typeof ErrorEvent>;
export type Tensor = Static<typeof Tensor>;
export type IngestRequest = Static<typeof IngestRequest>;
export type IngestResponse = Static<typeof IngestResponse>;
export type Rejection = Static<typeof Rejection>;
export type ErrorResponse = Static<typeof ErrorResponse>;
export type ArtifactFormat = Static<typeof ArtifactFormat>;
export type Artifact = Static<typeof Artifact>;
export type InputSpec = Static<typeof InputSpec>;
export type InputLayout = Static<typeof InputLayout>;
export type OutputKind = Static<typeof OutputKind>;
export type Policy = Static<typeof Policy>;
export type Channel = Static<typeof Channel>;
export type Manifest = Static<typeof Manifest>;
export type AutoPolicy = Static<typeof AutoPolicy>;
export type Rollout = Static<typeof Rollout>;
export type BatchCounts = Static<typeof BatchCounts>;
export type Batch = Static<typeof Batch>;
export type Split = Static<typeof Split>;
export type Example = Static<typeof Example>;
export type UnreportedPrediction = Static<typeof UnreportedPrediction>;
export type GateMetric = Static<typeof GateMetric>;
export type VersionMeta = Static<typeof VersionMeta>;
export type OutputSpec = Static<typeof OutputSpec>;
export type GateReport = Static<typeof GateReport>;
export type Version = Static<typeof Version>;
export type { TSchema };
