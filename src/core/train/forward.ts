// Running a Layers model on concrete tensors with the training flag passed to every layer's call():
// `training: true` makes batch norm use batch statistics and lets stateful layers (QAT observers)
// update their own variables; `training: false` is inference.
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

export function forward(model: tfl.LayersModel, x: tf.Tensor, training: boolean): tf.Tensor {
  const out = model.apply(x, { training });
  if (Array.isArray(out)) {
    if (out.length !== 1) throw new Error(`expected a model with one output, got ${out.length}`);
    return out[0] as tf.Tensor;
  }
  return out as tf.Tensor;
}
