/**
 * SoftmaxHead: a model whose output is logits (an imported PyTorch classifier, say) trains and is gated on
 * probabilities like every other, through a softmax layer appended for the trainer's use only. Exports drop it
 * again, so the published model keeps emitting logits and the app's contract does not change.
 */
import * as tf from '@tensorflow/tfjs';

/** The name of the appended softmax layer, by which exports recognise it. */
export const SOFTMAX_HEAD = 'edgeloop_softmax_head';

/** `model` with a softmax appended (sharing its layers and weights). */
export function withSoftmaxHead(model: tf.LayersModel): tf.LayersModel {
  const y = tf.layers.softmax({ axis: -1, name: SOFTMAX_HEAD }).apply(model.outputs[0]!) as tf.SymbolicTensor;
  return tf.model({ inputs: model.inputs, outputs: y, name: model.name });
}

/** `model` without the softmax withSoftmaxHead appended (the same model when it has none). */
export function withoutSoftmaxHead(model: tf.LayersModel): tf.LayersModel {
  const last = model.layers.at(-1);
  if (last?.name !== SOFTMAX_HEAD) return model;
  return tf.model({ inputs: model.inputs, outputs: last.input as tf.SymbolicTensor, name: model.name });
}
