export { catalogue, TrainerError, isTrainerError, type TrainerErrorCode } from './errors.js';
export {
  type ExampleSet,
  exampleSize,
  pick,
  take,
  concat,
  shuffled,
  mulberry32,
  inputTensor,
  oneHotTensor,
} from './data/examples.js';
export { loadMnist, mnistPartOf, DIGIT_LABELS, DIGIT_SHAPE, type MnistPart } from './data/mnist.js';
export { buildDigitsModel, DIGITS_INPUT, type DigitsModelOptions } from './model/digits.js';
export { fitModel, type FitOptions, type FitResult } from './train/fit.js';
export { evaluateModel, predictLabels, type Evaluation } from './train/evaluate.js';
export { saveLayers, loadLayers, LAYERS_JSON, LAYERS_WEIGHTS, type LayersArtifacts } from './export/tfjs-layers.js';
export { exportOnnx, ONNX_INPUT, ONNX_OUTPUT, ONNX_FILE, DEFAULT_NAMES, type OnnxNames } from './export/onnx.js';
export { importOnnx, type ImportedOnnx, type OutputKind } from './import/onnx-import.js';
export { SUPPORTED_OPS } from './import/onnx-ops.js';
export { withSoftmaxHead, withoutSoftmaxHead, SOFTMAX_HEAD } from './model/softmax-head.js';
export { SUPPORTED_LAYERS, SUPPORTED_ACTIVATIONS } from './export/onnx-layers.js';
export { checkParity, runOnnx, type ParityOptions, type ParityResult } from './export/parity.js';
export { exportModel, type ArtifactFile, type ExportedModel } from './export/artifacts.js';
export {
  useBackend,
  releaseBackend,
  type BackendRequest,
  type BackendChoice,
  type AdapterSummary,
} from './backend/select.js';
export { installFastCpuKernels, uninstallFastCpuKernels } from './backend/cpu-kernels.js';
export {
  CollectorClient,
  CollectorAnswer,
  type CollectorOptions,
  type MetricsSummary,
  type PendingLabels,
} from './collector/client.js';
export { decodeExamples, decodeTensor, encodeExamples, type DecodedExamples } from './data/wire.js';
export { DRIFTS, thicken, thin, shift, affine, noisy, occlude, invert, type AffineOptions } from './data/drift.js';
export { eraseInPlace, imageAxes, shiftInPlace } from './data/augment.js';
export {
  fitTemperature,
  applyTemperature,
  expectedCalibrationError,
  predictProbs,
  type Calibration,
} from './train/calibrate.js';
export {
  evaluateMultiLabel,
  scoreLabelSets,
  predictLogits,
  fitSigmoidTemperature,
  multiLabelEce,
  binaryCrossEntropy,
  type MultiLabelEvaluation,
} from './train/multi-label.js';
export {
  runMultiLabelGate,
  judgeMultiLabel,
  constantSetJaccard,
  type MultiLabelGateData,
  type MultiLabelGateResult,
  type MultiLabelSide,
} from './cycle/multi-label-gate.js';
export { retrainMultiLabel } from './cycle/retrain-multi-label.js';
export { DEFAULT_CANDIDATES, WISE_ALPHAS, type CandidateSpec, type Trainable } from './cycle/search.js';
export { type Reporter, silent } from './cycle/reporter.js';
export {
  runGate,
  formatGate,
  GATE_DEFAULTS,
  type GateOptions,
  type GateReport,
  type GateResult,
  type GateData,
  type CalibrationReport,
} from './cycle/gate.js';
export {
  stableModel,
  storedModel,
  untrainedBatches,
  trainedBatches,
  onnxNames,
  type StableModel,
  type TrainerConfig,
} from './cycle/lineage.js';
export {
  codeVersion,
  publishVersion,
  makeStable,
  startCanary,
  DEFAULT_AUTO_POLICY,
  DEFAULT_CANARY_PERCENT,
  type CanaryOptions,
} from './cycle/publish.js';
export { bootstrap, DEFAULT_POLICY, type BootstrapOptions, type BootstrapResult } from './cycle/bootstrap.js';
export {
  retrain,
  pendingWork,
  waitingWork,
  DEFAULT_BUDGET_SEC,
  type RetrainOptions,
  type RetrainResult,
  type PendingWork,
  type Waiting,
  type CandidateRow,
} from './cycle/retrain.js';
export { watch, type WatchOptions, type Trigger } from './cycle/watch.js';
export { TrainingLease, DEFAULT_LEASE_TTL_MS, defaultHolder, type LeaseOptions } from './cycle/lease.js';
export {
  pullWork,
  publishCandidate,
  PULL_REPLAY_MAX,
  type PullResult,
  type PublishCandidateOptions,
  type PublishCandidateResult,
} from './cycle/external.js';
export { encodeNpy } from './data/npy.js';
export {
  registerModel,
  registerOnnxModel,
  type RegisterOptions,
  type RegisterResult,
  type RegisterOnnxOptions,
  type RegisterOnnxResult,
} from './cycle/register.js';
export { evaluateVersion, exportVersion, type EvaluationReport } from './cycle/inspect.js';
export { main, type CliIO } from './cli/main.js';
