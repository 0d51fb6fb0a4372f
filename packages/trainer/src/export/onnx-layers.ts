/**
 * TF.js layer → ONNX node mapping with the layout made explicit. TF.js works in NHWC; ONNX Conv/Pool/BatchNorm work
 * in NCHW. A `Flow` records which layout the current tensor is in, and a Transpose is inserted only where an op
 * needs the other one: NHWC→NCHW (perm 0,3,1,2) before the first conv/pool, NCHW→NHWC (perm 0,2,3,1) before
 * Flatten/Dense/Softmax, so flattening order and Dense weights stay exactly TF.js's and need no permutation.
 */
import type * as tf from '@tensorflow/tfjs';
import { TrainerError } from '../errors.js';
import type { OnnxGraph } from './onnx-graph.js';

/** The tensor flowing between layers: its ONNX name, rank, layout and TF.js (NHWC) shape. */
export interface Flow {
  name: string;
  layout: 'nhwc' | 'nchw';
  shape: (number | null)[];
}

type Config = Record<string, unknown>;
type Converter = (g: OnnxGraph, layer: tf.layers.Layer, x: Flow, cfg: Config) => Flow;

/** Weight values by variable, read before conversion (asynchronously: a WebGPU backend has no sync reads). */
export type WeightValues = ReadonlyMap<tf.LayerVariable, Float32Array>;
let values: WeightValues = new Map();

/** Layer class names the exporter converts (InputLayer and inference-time no-ops included). */
export const SUPPORTED_LAYERS = [
  'InputLayer',
  'Dense',
  'Conv2D',
  'DepthwiseConv2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'Flatten',
  'Reshape',
  'Dropout',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'BatchNormalization',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'Softmax',
  'Permute',
  'ZeroPadding2D',
] as const;

/** Activation names (TF.js `activation` config values) the exporter converts. */
export const SUPPORTED_ACTIVATIONS = [
  'linear',
  'relu',
  'relu6',
  'sigmoid',
  'hardSigmoid',
  'tanh',
  'softmax',
  'elu',
  'selu',
  'softplus',
  'softsign',
  'swish',
] as const;

const IDENTITY = new Set(['InputLayer', 'Dropout', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

/** Converts one layer; throws ELT_UNSUPPORTED_LAYER for anything outside SUPPORTED_LAYERS or its options. */
export function convertLayer(g: OnnxGraph, layer: tf.layers.Layer, x: Flow, weights: WeightValues): Flow {
  const cls = layer.getClassName();
  if (IDENTITY.has(cls)) return x;
  const convert = converters[cls];
  if (!convert) throw unsupported(layer, '');
  values = weights;
  try {
    return convert(g, layer, x, layer.getConfig() as Config);
  } finally {
    values = new Map();
  }
}

/** Makes `x` NHWC (a Transpose when it is NCHW). */
export function toNhwc(g: OnnxGraph, x: Flow): Flow {
  if (x.layout === 'nhwc') return x;
  return { ...x, layout: 'nhwc', name: g.node('Transpose', [x.name], { perm: [0, 2, 3, 1] }) };
}

function toNchw(g: OnnxGraph, layer: tf.layers.Layer, x: Flow): Flow {
  if (x.shape.length !== 4) throw unsupported(layer, `on a rank-${x.shape.length} input (only rank 4 is supported)`);
  if (x.layout === 'nchw') return x;
  return { ...x, layout: 'nchw', name: g.node('Transpose', [x.name], { perm: [0, 3, 1, 2] }) };
}

const converters: Record<string, Converter> = {
  Dense(g, layer, x, cfg) {
    x = toNhwc(g, x);
    const units = cfg.units as number;
    let y = g.node('MatMul', [x.name, g.floats('kernel', [x.shape.at(-1) as number, units], weight(layer, 'kernel'))]);
    if (cfg.useBias !== false) y = g.node('Add', [y, g.floats('bias', [units], weight(layer, 'bias'))]);
    return activation(g, layer, { ...x, name: y, shape: [...x.shape.slice(0, -1), units] }, cfg.activation);
  },

  Conv2D(g, layer, x, cfg) {
    channelsLast(layer, cfg);
    const [kh, kw] = cfg.kernelSize as [number, number];
    const filters = cfg.filters as number;
    const inC = x.shape[3] as number;
    // TF.js kernel [kh, kw, in, out] → ONNX [out, in, kh, kw].
    const w = g.floats(
      'kernel',
      [filters, inC, kh, kw],
      permute(weight(layer, 'kernel'), [kh, kw, inC, filters], [3, 2, 0, 1]),
    );
    return conv(g, layer, x, cfg, w, filters, 1);
  },

  DepthwiseConv2D(g, layer, x, cfg) {
    channelsLast(layer, cfg);
    const [kh, kw] = cfg.kernelSize as [number, number];
    const inC = x.shape[3] as number;
    const mult = cfg.depthMultiplier as number;
    // TF.js kernel [kh, kw, in, mult] → ONNX [in·mult, 1, kh, kw]; output channel c·mult + m in both.
    const w = g.floats(
      'kernel',
      [inC * mult, 1, kh, kw],
      permute(weight(layer, 'depthwise_kernel'), [kh, kw, inC, mult], [2, 3, 0, 1]),
    );
    return conv(g, layer, x, cfg, w, inC * mult, inC);
  },

  MaxPooling2D: (g, layer, x, cfg) => pool(g, layer, x, cfg, 'MaxPool'),
  AveragePooling2D: (g, layer, x, cfg) => pool(g, layer, x, cfg, 'AveragePool'),
  GlobalAveragePooling2D: (g, layer, x, cfg) => globalPool(g, layer, x, cfg, 'GlobalAveragePool'),
  GlobalMaxPooling2D: (g, layer, x, cfg) => globalPool(g, layer, x, cfg, 'GlobalMaxPool'),

  Flatten(g, _layer, x) {
    x = toNhwc(g, x);
    const size = x.shape.slice(1).reduce<number | null>((a, b) => (a === null || b === null ? null : a * b), 1);
    return { ...x, name: g.node('Flatten', [x.name], { axis: 1 }), shape: [x.shape[0] ?? null, size] };
  },

  Reshape(g, layer, x, cfg) {
    x = toNhwc(g, x);
    // TF.js stores the inferred dimension (-1) as null.
    const target = (cfg.targetShape as (number | null)[]).map((d) => d ?? -1);
    // 0 copies the batch dimension from the input (allowzero = 0), so a -1 in the target still resolves.
    const name = g.node('Reshape', [x.name, g.int64s('shape', [0, ...target])]);
    return { name, layout: 'nhwc', shape: outputShape(layer) };
  },

  BatchNormalization(g, layer, x, cfg) {
    const axis = cfg.axis as number;
    if (axis !== -1 && axis !== x.shape.length - 1)
      throw unsupported(layer, `with axis ${axis} (only the channel axis, -1)`);
    if (x.shape.length === 4) x = toNchw(g, layer, x);
    else if (x.shape.length !== 2)
      throw unsupported(layer, `on a rank-${x.shape.length} input (ranks 2 and 4 are supported)`);
    const c = x.shape.at(-1) as number;
    const gamma = cfg.scale === false ? new Float32Array(c).fill(1) : weight(layer, 'gamma');
    const beta = cfg.center === false ? new Float32Array(c) : weight(layer, 'beta');
    const inputs = [
      x.name,
      g.floats('gamma', [c], gamma),
      g.floats('beta', [c], beta),
      g.floats('mean', [c], weight(layer, 'moving_mean')),
      g.floats('var', [c], weight(layer, 'moving_variance')),
    ];
    return { ...x, name: g.node('BatchNormalization', inputs, { epsilon: cfg.epsilon as number }) };
  },

  Activation: (g, layer, x, cfg) => activation(g, layer, x, cfg.activation),

  Permute(g, layer, x, cfg) {
    const dims = cfg.dims as number[];
    // An imported NCHW model permutes to channels-last before its convs and back before Flatten: in ONNX, where
    // those ops work in NCHW anyway, both are a change of label only and no Transpose is written.
    if (x.shape.length === 4 && x.layout === 'nhwc' && dims.join() === '2,3,1')
      return { name: x.name, layout: 'nchw', shape: outputShape(layer) };
    if (x.shape.length === 4 && x.layout === 'nchw' && dims.join() === '3,1,2')
      return { name: x.name, layout: 'nhwc', shape: outputShape(layer) };
    x = toNhwc(g, x);
    return { name: g.node('Transpose', [x.name], { perm: [0, ...dims] }), layout: 'nhwc', shape: outputShape(layer) };
  },

  ZeroPadding2D(g, layer, x, cfg) {
    channelsLast(layer, cfg);
    x = toNchw(g, layer, x);
    const [[top, bottom], [left, right]] = cfg.padding as [[number, number], [number, number]];
    const name = g.node('Pad', [x.name, g.int64s('pads', [0, 0, top, left, 0, 0, bottom, right])], {
      mode: 'constant',
    });
    return { name, layout: 'nchw', shape: outputShape(layer) };
  },

  ReLU(g, layer, x, cfg) {
    if (cfg.maxValue == null) return { ...x, name: g.node('Relu', [x.name]) };
    return clip(g, x, 0, cfg.maxValue as number);
  },

  LeakyReLU: (g, _layer, x, cfg) => ({ ...x, name: g.node('LeakyRelu', [x.name], { alpha: cfg.alpha as number }) }),
  ELU: (g, _layer, x, cfg) => ({ ...x, name: g.node('Elu', [x.name], { alpha: cfg.alpha as number }) }),

  Softmax(g, layer, x, cfg) {
    const axis = cfg.axis as number;
    if (axis !== -1 && axis !== x.shape.length - 1) throw unsupported(layer, `with axis ${axis} (only -1)`);
    return activation(g, layer, x, 'softmax');
  },
};

function conv(
  g: OnnxGraph,
  layer: tf.layers.Layer,
  x: Flow,
  cfg: Config,
  w: string,
  outC: number,
  group: number,
): Flow {
  x = toNchw(g, layer, x);
  const kernel = cfg.kernelSize as [number, number];
  const strides = cfg.strides as [number, number];
  const dilations = cfg.dilationRate as [number, number];
  const inputs = [x.name, w];
  if (cfg.useBias !== false) inputs.push(g.floats('bias', [outC], weight(layer, 'bias')));
  const name = g.node('Conv', inputs, {
    kernel_shape: kernel,
    strides,
    dilations,
    group,
    ...padding(x, cfg.padding, kernel, strides, dilations),
  });
  return activation(g, layer, { name, layout: 'nchw', shape: outputShape(layer) }, cfg.activation);
}

function pool(g: OnnxGraph, layer: tf.layers.Layer, x: Flow, cfg: Config, op: 'MaxPool' | 'AveragePool'): Flow {
  channelsLast(layer, cfg);
  x = toNchw(g, layer, x);
  const kernel = cfg.poolSize as [number, number];
  const strides = (cfg.strides ?? kernel) as [number, number];
  // AveragePool's default count_include_pad = 0 matches TF, which averages over the real pixels only.
  const name = g.node(op, [x.name], {
    kernel_shape: kernel,
    strides,
    ...padding(x, cfg.padding, kernel, strides, [1, 1]),
  });
  return { name, layout: 'nchw', shape: outputShape(layer) };
}

function globalPool(g: OnnxGraph, layer: tf.layers.Layer, x: Flow, cfg: Config, op: string): Flow {
  channelsLast(layer, cfg);
  x = toNchw(g, layer, x);
  const pooled = g.node(op, [x.name]); // [N, C, 1, 1]
  return { name: g.node('Flatten', [pooled], { axis: 1 }), layout: 'nhwc', shape: outputShape(layer) };
}

/** TF "same" padding puts the odd pixel at the end (like ONNX SAME_UPPER); written out as explicit pads. */
function padding(
  x: Flow,
  mode: unknown,
  k: [number, number],
  s: [number, number],
  d: [number, number],
): { pads: number[] } | { auto_pad: string } {
  if (mode === 'valid') return { pads: [0, 0, 0, 0] };
  const [h, w] = [x.shape[1], x.shape[2]];
  if (h == null || w == null) return { auto_pad: 'SAME_UPPER' };
  const total = (size: number, i: 0 | 1) =>
    Math.max((Math.ceil(size / s[i]) - 1) * s[i] + (k[i] - 1) * d[i] + 1 - size, 0);
  const [th, tw] = [total(h, 0), total(w, 1)];
  return { pads: [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)] };
}

function activation(g: OnnxGraph, layer: tf.layers.Layer, x: Flow, name: unknown): Flow {
  const act = (op: string, attrs: Record<string, number> = {}) => ({ ...x, name: g.node(op, [x.name], attrs) });
  switch (name ?? 'linear') {
    case 'linear':
      return x;
    case 'relu':
      return act('Relu');
    case 'relu6':
      return clip(g, x, 0, 6);
    case 'sigmoid':
      return act('Sigmoid');
    case 'hardSigmoid':
      return act('HardSigmoid', { alpha: 0.2, beta: 0.5 });
    case 'tanh':
      return act('Tanh');
    case 'elu':
      return act('Elu', { alpha: 1 });
    case 'selu':
      return act('Selu', { alpha: 1.6732632423543772, gamma: 1.0507009873554805 });
    case 'softplus':
      return act('Softplus');
    case 'softsign':
      return act('Softsign');
    case 'swish':
      return { ...x, name: g.node('Mul', [x.name, g.node('Sigmoid', [x.name])]) };
    case 'softmax': {
      // Softmax runs over TF.js's last axis, which is the channel axis only in NHWC.
      const y = toNhwc(g, x);
      return { ...y, name: g.node('Softmax', [y.name], { axis: -1 }) };
    }
    default:
      throw unsupported(layer, `with activation "${String(name)}"`);
  }
}

function clip(g: OnnxGraph, x: Flow, min: number, max: number): Flow {
  const lo = g.floats('min', [], new Float32Array([min]));
  const hi = g.floats('max', [], new Float32Array([max]));
  return { ...x, name: g.node('Clip', [x.name, lo, hi]) };
}

function channelsLast(layer: tf.layers.Layer, cfg: Config): void {
  if (cfg.dataFormat !== undefined && cfg.dataFormat !== 'channelsLast')
    throw unsupported(layer, `with dataFormat ${String(cfg.dataFormat)}`);
}

function outputShape(layer: tf.layers.Layer): (number | null)[] {
  return layer.outputShape as (number | null)[];
}

/** A layer weight by its short name (`kernel`, `bias`, `gamma`, `moving_mean`…) as float32 values. */
function weight(layer: tf.layers.Layer, short: string): Float32Array {
  const v = layer.weights.find((w) => (w.originalName ?? w.name).split('/').pop()?.replace(/_\d+$/, '') === short);
  const data = v && values.get(v);
  if (!data) throw new TrainerError('ELT_BAD_MODEL', [`layer "${layer.name}" has no "${short}" weight`]);
  return data;
}

/** Transposes a row-major array of `dims` by `perm` (numpy.transpose semantics). */
export function permute(data: Float32Array, dims: number[], perm: number[]): Float32Array {
  const outDims = perm.map((p) => dims[p]!);
  const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(data.length);
  const idx = new Array<number>(dims.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < perm.length; i++) src += idx[i]! * strides[perm[i]!]!;
    out[o] = data[src]!;
    for (let i = idx.length - 1; i >= 0; i--) {
      if (++idx[i]! < outDims[i]!) break;
      idx[i] = 0;
    }
  }
  return out;
}

function unsupported(layer: tf.layers.Layer, detail: string): TrainerError {
  return new TrainerError('ELT_UNSUPPORTED_LAYER', [
    `layer "${layer.name}" (${layer.getClassName()})${detail ? ' ' + detail : ''}`,
  ]);
}
