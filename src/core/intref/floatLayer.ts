// Float islands: the Keras layer rebuilt from its class name, config and weights, run in float32 by
// TF.js. Built once per op object and cached.
import * as tfl from '@tensorflow/tfjs-layers';
import * as tf from '../tf.js';
import type { FloatLayerOp, IntModel } from '../convert/types.js';

type Layer = tfl.layers.Layer;

const built = new WeakMap<FloatLayerOp, Layer>();

function layerOf(model: IntModel, op: FloatLayerOp): Layer {
  const cached = built.get(op);
  if (cached) return cached;
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[op.className];
  if (!entry) throw new Error(`${op.name}: layer class '${op.className}' is not registered with TF.js`);
  const [cls, fromConfig] = entry;
  const layer = fromConfig(cls, op.config as tf.serialization.ConfigDict) as unknown as Layer;
  // Building on symbolic inputs creates the variables without computing anything.
  const symbolic = op.inputs.map((n) => tfl.input({ shape: model.tensors[n]!.shape.slice(1) }));
  layer.apply(symbolic.length === 1 ? symbolic[0]! : symbolic);
  layer.setWeights(
    op.weights.map((n) => {
      const t = model.tensors[n]!;
      return tf.tensor(t.data as Float32Array, t.shape, 'float32');
    }),
  );
  built.set(op, layer);
  return layer;
}

/** Applies the layer (inference mode) to float inputs of the given batch; returns its output. */
export function runFloatLayer(model: IntModel, op: FloatLayerOp, inputs: tf.Tensor[]): tf.Tensor {
  const layer = layerOf(model, op);
  return tf.tidy(() => layer.apply(inputs.length === 1 ? inputs[0]! : inputs, { training: false }) as tf.Tensor);
}

export function batchShape(shape: number[], batch: number): number[] {
  return shape.map((d, i) => (i === 0 && d === -1 ? batch : d));
}
