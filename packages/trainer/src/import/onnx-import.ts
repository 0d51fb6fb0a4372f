/**
 * OnnxImporter: an ONNX image classifier (a single chain of the ops in SUPPORTED_OPS, opsets 7–21) becomes a
 * trainable TF.js Layers model that takes the same input tensor (NCHW stays NCHW: the model permutes inside) and
 * gives the same output (logits stay logits). Every op the importer does not know is listed at once, with its node.
 */
import * as tf from '@tensorflow/tfjs';
import { TrainerError } from '../errors.js';
import {
  LAYER_OPS,
  SUPPORTED_OPS,
  unsupportedUse,
  type Flow,
  type OpContext,
  type OpResult,
  type ShapeValue,
} from './onnx-ops.js';
import { SHAPE_OPS } from './onnx-shapes.js';
import { readOnnx, type Constant, type OnnxModelData } from './onnx-reader.js';

/** What the model's output holds, as the manifest's `output.kind` says it. */
export type OutputKind = 'probabilities' | 'logits' | 'sigmoid';

export interface ImportedOnnx {
  model: tf.LayersModel;
  /** The ONNX graph's input and output names, kept by every export of the model's later versions. */
  names: { input: string; output: string };
  /** One example's shape without the batch dimension, in the ONNX model's own layout. */
  inputShape: number[];
  /** 'probabilities' when the graph ends in a Softmax, 'sigmoid' in a Sigmoid, else 'logits'. */
  output: OutputKind;
  opset: number;
  producer: string;
}

const SUPPORTED = new Set<string>(SUPPORTED_OPS);

/** Imports ONNX bytes; throws ELT_UNSUPPORTED_OP listing every unsupported node, ELT_BAD_MODEL for unusable graphs. */
export function importOnnx(bytes: Uint8Array): ImportedOnnx {
  const g = readOnnx(bytes);
  const unknown = g.nodes.filter((n) => (n.domain !== '' && n.domain !== 'ai.onnx') || !SUPPORTED.has(n.op));
  if (unknown.length) {
    const list = unknown
      .map((n) => `${n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.` : ''}${n.op} (node "${n.name}")`)
      .join(', ');
    throw new TrainerError('ELT_UNSUPPORTED_OP', [`${unknown.length} node(s): ${list}`]);
  }
  if (g.input.elemType !== 'FLOAT')
    throw new TrainerError('ELT_UNSUPPORTED_OP', [`an input of type ${g.input.elemType} (float32 inputs only)`]);
  const inputShape = g.input.shape.slice(1);
  if (g.input.shape.length < 2 || inputShape.some((d) => d === null)) {
    throw new TrainerError('ELT_BAD_MODEL', [
      `input "${g.input.name}" has shape [${g.input.shape.map((d) => d ?? '?').join(', ')}]: every dimension but the batch must be fixed`,
    ]);
  }
  return {
    ...convert(g, inputShape as number[]),
    names: { input: g.input.name, output: g.output.name },
    inputShape: inputShape as number[],
    opset: g.opset,
    producer: g.producer,
  };
}

function convert(g: OnnxModelData, inputShape: number[]): { model: tf.LayersModel; output: OutputKind } {
  const input = tf.input({ shape: inputShape, name: 'input' });
  const flows = new Map<string, Flow>([[g.input.name, { t: input, kind: 'same', nonNegative: false }]]);
  const values = new Map<string, ShapeValue>();
  const constants = new Map<string, Constant>(g.constants);
  let lastOp = '';
  for (const node of g.nodes) {
    const flowInputs = node.inputs.filter((name) => flows.has(name));
    // A node fed by two activations (a residual Add, a Concat of branches) is not a chain: the Add converter says so.
    const flow = flowInputs.length ? flows.get(flowInputs[0]!) : undefined;
    const ctx: OpContext = {
      node,
      opset: g.opset,
      ...(flow ? { flow } : {}),
      constant: (i) => constants.get(node.inputs[i] ?? ''),
      shapeValue(i) {
        const name = node.inputs[i] ?? '';
        const v = values.get(name);
        if (v) return v;
        const k = constants.get(name);
        return k ? { dims: k.dims, data: Array.from(k.data) } : undefined;
      },
      apply(layer, x, weights) {
        const y = layer.apply(x) as tf.SymbolicTensor;
        if (weights) {
          const tensors = weights.map((w) => tf.tensor(w.values, w.shape));
          layer.setWeights(tensors);
          tf.dispose(tensors);
        }
        return y;
      },
    };
    if (flowInputs.length > 1 && node.op !== 'Shape') {
      throw new TrainerError('ELT_UNSUPPORTED_OP', [
        `${node.op} (node "${node.name}") of two activations (only a single chain of ops is supported: no residual or branching graphs)`,
      ]);
    }
    const result = convertNode(ctx);
    const out = node.outputs[0]!;
    if ('flow' in result) {
      flows.set(out, result.flow);
      lastOp = node.op;
    } else {
      values.set(out, result.value);
      if (node.op === 'Constant') constants.set(out, { dims: result.value.dims, data: floatsOf(node, result.value) });
    }
  }
  const out = flows.get(g.output.name);
  if (!out) throw new TrainerError('ELT_BAD_MODEL', [`output "${g.output.name}" is not computed from the input`]);
  if (out.t.shape.length !== 2)
    throw new TrainerError('ELT_BAD_MODEL', [
      `output "${g.output.name}" has rank ${out.t.shape.length} (a classifier's output is [batch, classes])`,
    ]);
  const model = tf.model({ inputs: input, outputs: out.t });
  return { model, output: lastOp === 'Softmax' ? 'probabilities' : lastOp === 'Sigmoid' ? 'sigmoid' : 'logits' };
}

/** A Constant node's value as floats when it is a float tensor (a bias, say), else as it is. */
function floatsOf(node: { attrs: Record<string, unknown> }, v: ShapeValue): Float32Array | number[] {
  const t = node.attrs.value as Constant | undefined;
  if (t && t.data instanceof Float32Array) return t.data;
  return v.data.map((d) => d ?? -1);
}

/** Converts one node: a layer on the flow, or a shape value. */
function convertNode(c: OpContext): OpResult {
  if (!c.flow || c.node.op === 'Shape') {
    const shapeOp = SHAPE_OPS[c.node.op];
    if (shapeOp) return { value: shapeOp(c) };
  }
  const convert = LAYER_OPS[c.node.op];
  if (!convert) throw unsupportedUse(c.node, 'on activations (only on shapes and constants)');
  return convert(c);
}
