/**
 * ONNX node → TF.js layer mapping for the importer. ONNX image models work in NCHW, TF.js layers in NHWC: a `Flow`
 * says how the TF.js tensor relates to the ONNX one ('same', 'cl': the ONNX tensor transposed to channels-last,
 * 'pooled': ONNX's [N, C, 1, 1] held as [N, C]). A Permute layer is added only where an op needs the other layout,
 * and before a Flatten of channels-last data, so that flattening follows ONNX's (C, H, W) order and the weights
 * of the Gemm or MatMul after it apply unchanged. Shape arithmetic is in onnx-shapes.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { TrainerError } from '../errors.js';
import { permute } from '../export/onnx-layers.js';
import type { Attribute, Constant, OnnxNode } from './onnx-reader.js';

export interface Flow {
  t: tf.SymbolicTensor;
  kind: 'same' | 'cl' | 'pooled';
  /** Known ≥ 0 (after Relu or Sigmoid): zero padding is then neutral for a MaxPool. */
  nonNegative: boolean;
  /** The Dense layer a MatMul made, whose bias a following Add sets. */
  dense?: { layer: tf.layers.Layer; kernel: Float32Array; units: number };
}

/** A shape-arithmetic value: integers, with `null` for the batch dimension. */
export interface ShapeValue {
  dims: number[];
  data: (number | null)[];
}

export interface OpContext {
  node: OnnxNode;
  opset: number;
  /** The activation flowing into the node (its first non-constant input), when there is one. */
  flow?: Flow;
  constant(i: number): Constant | undefined;
  shapeValue(i: number): ShapeValue | undefined;
  /** Applies a layer with the given weights (set once it is built) and returns its output. */
  apply(
    layer: tf.layers.Layer,
    x: tf.SymbolicTensor,
    weights?: { values: Float32Array; shape: number[] }[],
  ): tf.SymbolicTensor;
}

export type OpResult = { flow: Flow } | { value: ShapeValue };
export type Converter = (c: OpContext) => OpResult;

/** The ONNX ops the importer converts (shape arithmetic included). */
export const SUPPORTED_OPS = [
  'Conv',
  'Gemm',
  'MatMul',
  'Add',
  'Relu',
  'LeakyRelu',
  'Sigmoid',
  'Tanh',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'BatchNormalization',
  'Flatten',
  'Reshape',
  'Dropout',
  'Softmax',
  'Identity',
  'Transpose',
  'Pad',
  'Constant',
  'Shape',
  'Gather',
  'Unsqueeze',
  'Squeeze',
  'Concat',
  'Cast',
] as const;

/** The ONNX shape of a flow (batch: null). */
export function onnxShape(f: Flow): (number | null)[] {
  const s = f.t.shape;
  if (f.kind === 'cl') return [s[0] ?? null, s[3]!, s[1]!, s[2]!];
  if (f.kind === 'pooled') return [s[0] ?? null, s[1]!, 1, 1];
  return [...s];
}

/** An unsupported use of a supported op: names the node. */
export function unsupportedUse(node: OnnxNode, detail: string): TrainerError {
  return new TrainerError('ELT_UNSUPPORTED_OP', [`${node.op} (node "${node.name}") ${detail}`]);
}

export const ints = (a: Attribute | undefined, fallback: number[]): number[] =>
  Array.isArray(a) ? a.map(Number) : fallback;
export const int = (a: Attribute | undefined, fallback: number): number => (typeof a === 'number' ? a : fallback);

export function need(c: OpContext): Flow {
  if (!c.flow) throw unsupportedUse(c.node, 'on constants only');
  return c.flow;
}

function weights(c: OpContext, i: number, what: string): { dims: number[]; data: Float32Array } {
  const k = c.constant(i);
  if (!k || !(k.data instanceof Float32Array))
    throw unsupportedUse(c.node, `with a ${what} that is not a constant float tensor (an initializer)`);
  return { dims: k.dims, data: k.data };
}

/** Channels-last rank-4 data (a Permute when the flow is in ONNX's NCHW order; a Reshape back when pooled). */
function toChannelsLast(c: OpContext, f: Flow): Flow {
  if (f.kind === 'cl') return f;
  if (f.kind === 'pooled')
    return {
      ...f,
      kind: 'cl',
      t: c.apply(tf.layers.reshape({ targetShape: [1, 1, f.t.shape[1]!] }), f.t),
      dense: undefined,
    };
  if (f.t.shape.length !== 4)
    throw unsupportedUse(c.node, `on a rank-${f.t.shape.length} input (image ops need rank 4, NCHW)`);
  return { ...f, kind: 'cl', t: c.apply(tf.layers.permute({ dims: [2, 3, 1] }), f.t), dense: undefined };
}

/** ONNX's own order (a Permute back from channels-last). */
function toSame(c: OpContext, f: Flow): Flow {
  if (f.kind === 'same') return f;
  if (f.kind === 'pooled')
    return { ...f, kind: 'same', t: c.apply(tf.layers.reshape({ targetShape: [f.t.shape[1]!, 1, 1] }), f.t) };
  return { ...f, kind: 'same', t: c.apply(tf.layers.permute({ dims: [3, 1, 2] }), f.t) };
}

function layerFlow(
  c: OpContext,
  f: Flow,
  layer: tf.layers.Layer,
  nonNegative = false,
  w?: { values: Float32Array; shape: number[] }[],
): OpResult {
  return { flow: { t: c.apply(layer, f.t, w), kind: f.kind, nonNegative } };
}

/** Explicit [top, left, bottom, right] pads of a Conv or pool from `pads` or `auto_pad`. */
function explicitPads(c: OpContext, h: number, w: number, k: number[], s: number[], d: number[]): number[] {
  const auto = c.node.attrs.auto_pad;
  if (auto === 'VALID') return [0, 0, 0, 0];
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const same = samePads(h, w, k, s, d);
    return auto === 'SAME_UPPER' ? same : [same[2]!, same[3]!, same[0]!, same[1]!];
  }
  return ints(c.node.attrs.pads, [0, 0, 0, 0]);
}

/** TF's "same" padding as [top, left, bottom, right] (the odd pixel at the end). */
function samePads(h: number, w: number, k: number[], s: number[], d: number[]): number[] {
  const total = (size: number, i: number) =>
    Math.max((Math.ceil(size / s[i]!) - 1) * s[i]! + (k[i]! - 1) * d[i]! + 1 - size, 0);
  const [th, tw] = [total(h, 0), total(w, 1)];
  return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
}

/** 'valid', 'same', or zero padding first then 'valid' (when `zeroPadOk`); null when none of them matches. */
function padding(
  c: OpContext,
  f: Flow,
  pads: number[],
  k: number[],
  s: number[],
  d: number[],
  zeroPadOk: boolean,
): { flow: Flow; mode: 'valid' | 'same' } | null {
  const [h, w] = [f.t.shape[1]!, f.t.shape[2]!];
  if (pads.every((p) => p === 0)) return { flow: f, mode: 'valid' };
  if (pads.join() === samePads(h, w, k, s, d).join()) return { flow: f, mode: 'same' };
  if (!zeroPadOk) return null;
  const padded = c.apply(
    tf.layers.zeroPadding2d({
      padding: [
        [pads[0]!, pads[2]!],
        [pads[1]!, pads[3]!],
      ],
    }),
    f.t,
  );
  return { flow: { ...f, t: padded }, mode: 'valid' };
}

function pool(c: OpContext, kind: 'max' | 'avg'): OpResult {
  let f = toChannelsLast(c, need(c));
  const { attrs } = c.node;
  const k = ints(attrs.kernel_shape, []);
  const s = ints(attrs.strides, [1, 1]);
  if (k.length !== 2) throw unsupportedUse(c.node, `with kernel_shape [${k.join(', ')}] (2-D pools only)`);
  if (ints(attrs.dilations, [1, 1]).some((d) => d !== 1)) throw unsupportedUse(c.node, 'with dilations');
  const pads = explicitPads(c, f.t.shape[1]!, f.t.shape[2]!, k, s, [1, 1]);
  if (int(attrs.ceil_mode, 0) === 1) {
    const exact = [0, 1].every((i) => (f.t.shape[1 + i]! + pads[i]! + pads[i + 2]! - k[i]!) % s[i]! === 0);
    if (!exact) throw unsupportedUse(c.node, 'with ceil_mode 1 where it changes the output size');
  }
  // Zero padding is exact for an average that counts pads, and for a max over non-negative values.
  const zeroPadOk = kind === 'avg' ? int(attrs.count_include_pad, 0) === 1 : f.nonNegative;
  const p = padding(c, f, pads, k, s, [1, 1], zeroPadOk);
  if (!p)
    throw unsupportedUse(
      c.node,
      `with pads [${pads.join(', ')}] (only none, TF's "same", or zero padding where it is exact)`,
    );
  f = p.flow;
  const cfg = { poolSize: k as [number, number], strides: s as [number, number], padding: p.mode };
  return layerFlow(c, f, kind === 'max' ? tf.layers.maxPooling2d(cfg) : tf.layers.averagePooling2d(cfg), f.nonNegative);
}

/** A converter per op that works on activations. */
export const LAYER_OPS: Record<string, Converter> = {
  Conv(c) {
    const f = toChannelsLast(c, need(c));
    const w = weights(c, 1, 'weight');
    const bias = c.node.inputs[2] ? weights(c, 2, 'bias') : undefined;
    const [outC, inPerGroup, kh, kw] = w.dims as [number, number, number, number];
    if (w.dims.length !== 4)
      throw unsupportedUse(c.node, `with a rank-${w.dims.length} weight (2-D convolutions only)`);
    const inC = f.t.shape[3]!;
    const group = int(c.node.attrs.group, 1);
    const s = ints(c.node.attrs.strides, [1, 1]);
    const d = ints(c.node.attrs.dilations, [1, 1]);
    const pads = explicitPads(c, f.t.shape[1]!, f.t.shape[2]!, [kh, kw], s, d);
    const p = padding(c, f, pads, [kh, kw], s, d, true)!;
    const common = {
      kernelSize: [kh, kw] as [number, number],
      strides: s as [number, number],
      dilationRate: d as [number, number],
      padding: p.mode,
      useBias: bias !== undefined,
    };
    const biasW = bias ? [{ values: bias.data, shape: [outC] }] : [];
    if (group === 1) {
      const kernel = permute(w.data, [outC, inPerGroup, kh, kw], [2, 3, 1, 0]);
      return layerFlow(c, p.flow, tf.layers.conv2d({ ...common, filters: outC }), false, [
        { values: kernel, shape: [kh, kw, inC, outC] },
        ...biasW,
      ]);
    }
    if (group === inC && inPerGroup === 1 && outC % inC === 0) {
      const mult = outC / inC;
      const kernel = permute(w.data, [inC, mult, kh, kw], [2, 3, 0, 1]);
      return layerFlow(c, p.flow, tf.layers.depthwiseConv2d({ ...common, depthMultiplier: mult }), false, [
        { values: kernel, shape: [kh, kw, inC, mult] },
        ...biasW,
      ]);
    }
    throw unsupportedUse(c.node, `with group ${group} (1, or depthwise: group = input channels)`);
  },

  Gemm(c) {
    const f = need(c);
    if (f.t.shape.length !== 2) throw unsupportedUse(c.node, `on a rank-${f.t.shape.length} input (Flatten first)`);
    const { attrs } = c.node;
    if (int(attrs.transA, 0) !== 0) throw unsupportedUse(c.node, 'with transA 1');
    const b = weights(c, 1, 'B');
    const [alpha, beta] = [
      typeof attrs.alpha === 'number' ? attrs.alpha : 1,
      typeof attrs.beta === 'number' ? attrs.beta : 1,
    ];
    const trans = int(attrs.transB, 0) === 1;
    const [inF, units] = trans ? [b.dims[1]!, b.dims[0]!] : [b.dims[0]!, b.dims[1]!];
    const kernel = (trans ? permute(b.data, b.dims, [1, 0]) : b.data.slice()).map((v) => v * alpha);
    const biasC = c.node.inputs[2] ? weights(c, 2, 'C') : undefined;
    const bias = new Float32Array(units);
    if (biasC) for (let i = 0; i < units; i++) bias[i] = beta * biasC.data[biasC.data.length === 1 ? 0 : i]!;
    return layerFlow(c, f, tf.layers.dense({ units }), false, [
      { values: kernel, shape: [inF, units] },
      { values: bias, shape: [units] },
    ]);
  },

  MatMul(c) {
    const f = need(c);
    if (f.t.shape.length !== 2) throw unsupportedUse(c.node, `on a rank-${f.t.shape.length} input (Flatten first)`);
    const b = weights(c, 1, 'right-hand side');
    if (b.dims.length !== 2) throw unsupportedUse(c.node, `with a rank-${b.dims.length} weight`);
    const units = b.dims[1]!;
    const layer = tf.layers.dense({ units });
    const t = c.apply(layer, f.t, [
      { values: b.data, shape: b.dims },
      { values: new Float32Array(units), shape: [units] },
    ]);
    return { flow: { t, kind: 'same', nonNegative: false, dense: { layer, kernel: b.data, units } } };
  },

  Add(c) {
    const f = need(c);
    const k = c.node.inputs.map((_, i) => c.constant(i)).find((v) => v !== undefined);
    if (!k || !(k.data instanceof Float32Array))
      throw unsupportedUse(c.node, 'of two activations (residual connections are not supported)');
    if (!f.dense || k.data.length !== f.dense.units)
      throw unsupportedUse(c.node, 'of a constant other than the bias right after a MatMul');
    const values = [
      tf.tensor(f.dense.kernel, [f.dense.kernel.length / f.dense.units, f.dense.units]),
      tf.tensor(k.data, [f.dense.units]),
    ];
    f.dense.layer.setWeights(values);
    tf.dispose(values);
    return { flow: { ...f, dense: undefined } };
  },

  Relu: (c) => layerFlow(c, need(c), tf.layers.reLU(), true),
  LeakyRelu: (c) =>
    layerFlow(
      c,
      need(c),
      tf.layers.leakyReLU({ alpha: typeof c.node.attrs.alpha === 'number' ? c.node.attrs.alpha : 0.01 }),
    ),
  Sigmoid: (c) => layerFlow(c, need(c), tf.layers.activation({ activation: 'sigmoid' }), true),
  Tanh: (c) => layerFlow(c, need(c), tf.layers.activation({ activation: 'tanh' })),
  MaxPool: (c) => pool(c, 'max'),
  AveragePool: (c) => pool(c, 'avg'),
  GlobalAveragePool: (c) => ({
    flow: {
      t: c.apply(tf.layers.globalAveragePooling2d({}), toChannelsLast(c, need(c)).t),
      kind: 'pooled',
      nonNegative: need(c).nonNegative,
    },
  }),
  GlobalMaxPool: (c) => ({
    flow: {
      t: c.apply(tf.layers.globalMaxPooling2d({}), toChannelsLast(c, need(c)).t),
      kind: 'pooled',
      nonNegative: need(c).nonNegative,
    },
  }),

  BatchNormalization(c) {
    let f = need(c);
    if (int(c.node.attrs.training_mode, 0) !== 0) throw unsupportedUse(c.node, 'in training mode');
    if (f.t.shape.length === 4 || f.kind === 'cl') f = toChannelsLast(c, f);
    else if (f.t.shape.length !== 2)
      throw unsupportedUse(c.node, `on a rank-${f.t.shape.length} input (ranks 2 and 4)`);
    const [scale, b, mean, variance] = [1, 2, 3, 4].map((i): Float32Array => weights(c, i, 'statistic').data);
    const epsilon = typeof c.node.attrs.epsilon === 'number' ? c.node.attrs.epsilon : 1e-5;
    const momentum = typeof c.node.attrs.momentum === 'number' ? c.node.attrs.momentum : 0.9;
    const ch = scale!.length;
    return layerFlow(
      c,
      f,
      tf.layers.batchNormalization({ axis: -1, epsilon, momentum }),
      false,
      [scale!, b!, mean!, variance!].map((values) => ({ values, shape: [ch] })),
    );
  },

  Flatten(c) {
    const f = need(c);
    const rank = onnxShape(f).length;
    if (int(c.node.attrs.axis, 1) !== 1 && !(rank === 2 && int(c.node.attrs.axis, 1) === -1))
      throw unsupportedUse(c.node, `with axis ${String(c.node.attrs.axis)} (only 1)`);
    return flatten(c, f);
  },

  Reshape(c) {
    const f = need(c);
    const target =
      c.shapeValue(1) ?? (c.node.attrs.shape ? { dims: [], data: ints(c.node.attrs.shape, []) } : undefined);
    if (!target) throw unsupportedUse(c.node, 'with a target shape that is not a constant');
    const from = onnxShape(f);
    const allowZero = int(c.node.attrs.allowzero, 0) === 1;
    const dims = target.data.map((d, i) => (d === 0 && !allowZero ? (from[i] ?? null) : d));
    const rest = from.slice(1).reduce<number>((a, b) => a * (b ?? 1), 1);
    const batchFirst = dims[0] === null || dims[0] === -1;
    if (dims.length === 2 && batchFirst && (dims[1] === -1 || dims[1] === rest)) return flatten(c, f);
    throw unsupportedUse(c.node, `to [${dims.map((d) => d ?? 'batch').join(', ')}] (only to 2-D [batch, features])`);
  },

  Dropout: (c) => ({ flow: need(c) }),
  Identity: (c) => (c.flow ? { flow: c.flow } : { value: c.shapeValue(0)! }),

  Softmax(c) {
    const f = need(c);
    const rank = onnxShape(f).length;
    const axis = int(c.node.attrs.axis, c.opset >= 13 ? -1 : 1);
    if (rank !== 2 || (axis !== 1 && axis !== -1))
      throw unsupportedUse(
        c.node,
        `over axis ${axis} of a rank-${rank} input (only the class axis of [batch, classes])`,
      );
    return layerFlow(c, f, tf.layers.softmax({ axis: -1 }), true);
  },

  Transpose(c) {
    const f = need(c);
    const rank = onnxShape(f).length;
    const perm = ints(c.node.attrs.perm, [...Array(rank).keys()].reverse());
    if (perm[0] !== 0) throw unsupportedUse(c.node, `with perm [${perm.join(', ')}] (the batch axis must stay first)`);
    // NCHW ↔ NHWC transposes only change how the TF.js tensor relates to the ONNX one: no layer is needed.
    if (rank === 4 && f.kind === 'same' && perm.join() === '0,3,1,2') return { flow: { ...f, kind: 'cl' } };
    if (rank === 4 && f.kind === 'cl' && perm.join() === '0,2,3,1') return { flow: { ...f, kind: 'same' } };
    const g = toSame(c, f);
    return layerFlow(c, g, tf.layers.permute({ dims: perm.slice(1) }), g.nonNegative);
  },

  Pad(c) {
    const f = need(c);
    const pads = c.opset >= 11 ? c.shapeValue(1)?.data.map(Number) : ints(c.node.attrs.pads, []);
    const mode = c.node.attrs.mode ?? 'constant';
    const fill =
      c.opset >= 11 ? (c.constant(2)?.data[0] ?? 0) : typeof c.node.attrs.value === 'number' ? c.node.attrs.value : 0;
    if (!pads || mode !== 'constant' || fill !== 0)
      throw unsupportedUse(c.node, 'other than constant zero padding with constant pads');
    if (pads.every((p) => p === 0)) return { flow: f };
    if (pads.length !== 8 || pads[0] || pads[1] || pads[4] || pads[5])
      throw unsupportedUse(c.node, `with pads [${pads.join(', ')}] (only the spatial axes of NCHW data)`);
    const g = toChannelsLast(c, f);
    return layerFlow(
      c,
      g,
      tf.layers.zeroPadding2d({
        padding: [
          [pads[2]!, pads[6]!],
          [pads[3]!, pads[7]!],
        ],
      }),
      g.nonNegative,
    );
  },
};

/** Flattens to [batch, features] in ONNX's order: channels-last data is permuted back to (C, H, W) first. */
function flatten(c: OpContext, f: Flow): OpResult {
  if (f.kind === 'pooled' || f.t.shape.length === 2) return { flow: { ...f, kind: 'same' } };
  const g = toSame(c, f);
  return layerFlow(c, g, tf.layers.flatten(), g.nonNegative);
}
