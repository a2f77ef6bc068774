// Weight fake-quantization: symmetric, narrow range ([-127, 127] at 8 bits, zero point 0), per output
// channel or per tensor, on the last value of max|w| — what the int8 runtime will store.
import * as tf from '../../tf.js';
import { fakeQuant } from '../../quant/fakeQuant.js';

/**
 * `channelAxis` is the output-channel axis of `w`, or null for per-tensor. The range is read back as a
 * fresh tensor: a constant for the tape, so gradients flow straight through to w and never into the
 * range (TFMOT's LastValueQuantizer assigns its range variables for the same reason).
 */
export function quantizeWeights(w: tf.Tensor, channelAxis: number | null, bits: number, label: string): tf.Tensor {
  const absMax = weightAbsMax(w, channelAxis);
  return fakeQuant(w, tf.neg(absMax), absMax, { bits, narrowRange: true, axis: channelAxis ?? undefined, label });
}

export function weightAbsMax(w: tf.Tensor, channelAxis: number | null): tf.Tensor {
  const values = tf.tidy(() => {
    if (channelAxis === null) return tf.max(tf.abs(w));
    const axes = w.shape.map((_, i) => i).filter((i) => i !== channelAxis);
    return tf.max(tf.abs(w), axes);
  });
  const range = tf.tensor(values.dataSync(), values.shape);
  values.dispose();
  return range;
}
