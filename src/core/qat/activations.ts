// Keras activation functions a QAT layer may fuse or compute in float before quantizing its output.
import * as tf from '../tf.js';

const FUNCTIONS: Record<string, (x: tf.Tensor) => tf.Tensor> = {
  linear: (x) => x,
  relu: (x) => tf.relu(x),
  relu6: (x) => tf.relu6(x),
  sigmoid: (x) => tf.sigmoid(x),
  tanh: (x) => tf.tanh(x),
  elu: (x) => tf.elu(x),
  selu: (x) => tf.selu(x),
  softplus: (x) => tf.softplus(x),
  swish: (x) => tf.mul(x, tf.sigmoid(x)),
  hard_sigmoid: (x) => tf.clipByValue(tf.add(tf.mul(x, 0.2), 0.5), 0, 1),
};

export const SUPPORTED_ACTIVATIONS = Object.keys(FUNCTIONS);

export function activation(name: string): (x: tf.Tensor) => tf.Tensor {
  const fn = FUNCTIONS[name];
  if (!fn) throw new RangeError(`activation '${name}' is not supported (supported: ${SUPPORTED_ACTIVATIONS.join(', ')})`);
  return fn;
}

/** Keras serialises activations as names; tfjs-layers objects carry a class name. */
export function activationName(value: unknown): string {
  if (value === undefined || value === null) return 'linear';
  if (typeof value === 'string') return value.toLowerCase();
  const cls = (value as { getClassName?: () => string }).getClassName?.();
  if (cls) return cls.toLowerCase() === 'relu6' ? 'relu6' : cls.toLowerCase();
  return String(value).toLowerCase();
}
