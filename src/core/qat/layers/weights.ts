// Weight fake-quantization: symmetric, narrow range ([-127, 127] at 8 bits, zero point 0), per output
// channel or per tensor, on the last value of max|w| — what the int8 runtime will store — or, with
// LSQ, on a learned step.
import * as tf from '../../tf.js';
import { fakeQuant } from '../../quant/fakeQuant.js';
import { lsqInitialStep, lsqQuantize } from '../../quant/lsq.js';

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

/**
 * LSQ weights: the same symmetric narrow grid ([-127, 127]·step at 8 bits, zero point 0), but on a
 * trainable step (1-D along `channelAxis`, or a scalar per tensor) instead of max|w|. The int8
 * converter rounds with the op's arithmetic (convert/weights.ts), so the deployed integers are these.
 */
export function quantizeWeightsLsq(w: tf.Tensor, step: tf.Tensor, channelAxis: number | null, bits: number, label: string): tf.Tensor {
  return lsqQuantize(w, step, { bits, signed: true, narrowRange: true, ...(channelAxis === null ? {} : { axis: channelAxis }), label });
}

/** The paper's initial step 2·mean|w|/sqrt(Qp) of (BN-folded) weights, per channel or per tensor. */
export function initialWeightStep(w: tf.Tensor, channelAxis: number | null, bits: number): tf.Tensor {
  return lsqInitialStep(w, { bits, signed: true, narrowRange: true, ...(channelAxis === null ? {} : { axis: channelAxis }) });
}
