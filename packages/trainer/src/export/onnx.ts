/**
 * OnnxExporter: writes a TF.js Layers model with a single chain of layers as an ONNX model (opset 13) through our
 * own mapping over `onnx-proto`. The ONNX model keeps TF.js's interface — input "input" `[batch, ...shape]` in
 * NHWC, output "output" — so the runtime feeds both engines the same tensor.
 */
import type * as tf from '@tensorflow/tfjs';
import { TrainerError } from '../errors.js';
import { OnnxGraph } from './onnx-graph.js';
import { convertLayer, toNhwc, type Flow, type WeightValues } from './onnx-layers.js';

export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'output';
export const ONNX_FILE = 'model.onnx';

/** The ONNX graph's input and output names: TF.js's "input" and "output", or an imported model's own. */
export interface OnnxNames {
  input: string;
  output: string;
}

export const DEFAULT_NAMES: OnnxNames = { input: ONNX_INPUT, output: ONNX_OUTPUT };

/**
 * Exports `model` to ONNX bytes under `names` (an imported model keeps its own, so the app's feeds still fit);
 * throws ELT_UNSUPPORTED_LAYER naming the first layer it cannot convert.
 */
export async function exportOnnx(
  model: tf.LayersModel,
  producer = 'edgeloop-trainer',
  names: OnnxNames = DEFAULT_NAMES,
): Promise<Uint8Array> {
  const chain = layerChain(model);
  const weights = new Map<tf.LayerVariable, Float32Array>();
  for (const layer of chain) for (const w of layer.weights) weights.set(w, (await w.read().data()) as Float32Array);
  const inputShape = model.inputs[0]!.shape;
  const g = new OnnxGraph();
  let x: Flow = { name: names.input, layout: 'nhwc', shape: inputShape };
  for (const layer of chain) x = convertLayer(g, layer, x, weights as WeightValues);
  x = toNhwc(g, x);
  g.node('Identity', [x.name], {}, names.output);
  const dims = (s: (number | null)[]) => s.map((d, i) => d ?? (i === 0 ? 'batch' : `d${i}`));
  return g.encode({
    name: model.name,
    producer,
    input: { name: names.input, shape: dims(inputShape) },
    output: { name: names.output, shape: dims(model.outputs[0]!.shape) },
  });
}

/** The model's layers in order, checking that they form one chain (one input, one output, no branches). */
function layerChain(model: tf.LayersModel): tf.layers.Layer[] {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new TrainerError('ELT_UNSUPPORTED_LAYER', [
      `a model with ${model.inputs.length} inputs and ${model.outputs.length} outputs (one of each is supported)`,
    ]);
  }
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  layers.forEach((layer, i) => {
    const inbound = layer.inboundNodes.flatMap((n) => n.inboundLayers).filter((l) => l.getClassName() !== 'InputLayer');
    const expected = i === 0 ? [] : [layers[i - 1]];
    if (inbound.length !== expected.length || inbound[0] !== expected[0]) {
      throw new TrainerError('ELT_UNSUPPORTED_LAYER', [
        `layer "${layer.name}" (${layer.getClassName()}) in a branching or shared topology (only a single chain of layers is supported)`,
      ]);
    }
  });
  return layers;
}
