// Weight fake-quantization: symmetric, narrow range ([-127, 127] at 8 bits, zero point 0), per output
// channel or per tensor, on the last value of max|w| — what the int8 runtime will store — or, with
// LSQ, on a learned step.
import * as tf from '../../tf.js';
import { fakeQuant } from '../../quant/fakeQuant.js';
import { lsqInitialStep, lsqQuantize } from '../../quant/lsq.js';
import { ABS_MAX, type AbsMaxKernelAttrs, hasAbsMaxKernel } from '../../quant/observerKernels.js';

/**
 * `channelAxis` is the output-channel axis of `w`, or null for per-tensor. The range is a fresh tensor
 * (weightAbsMax): a constant for the tape, so gradients flow straight through to w and never into the
 * range (TFMOT's LastValueQuantizer assigns its range variables for the same reason).
 */
export function quantizeWeights(w: tf.Tensor, channelAxis: number | null, bits: number, label: string): tf.Tensor {
  const absMax = weightAbsMax(w, channelAxis);
  return fakeQuant(w, tf.neg(absMax), absMax, { bits, narrowRange: true, axis: channelAxis ?? undefined, label });
}

/**
 * max|w| (per tensor, or along `channelAxis`) as a new tensor no tape node produced: one kernel pass
 * where QatAbsMax is registered (absMaxConstant), else an abs/max chain read back into a fresh tensor.
 */
export function weightAbsMax(w: tf.Tensor, channelAxis: number | null): tf.Tensor {
  if (w.size > 0 && hasAbsMaxKernel()) {
    if (channelAxis === null) return absMaxConstant(w, { axis: -1 });
    if (channelAxis >= 0 && channelAxis < w.rank) return absMaxConstant(w, { axis: channelAxis });
  }
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
 * max|w| in one pass (observerKernels.ts), as a constant for the tape without reading it back: the
 * kernel's output is on the tape (as the input of nothing with a gradient), the tensor returned is a
 * new one on the same memory that no tape node produced, so no gradient path leads from it to w (and
 * fake-quant's range gradients never run for it, as with the read-back).
 */
function absMaxConstant(w: tf.Tensor, attrs: AbsMaxKernelAttrs): tf.Tensor {
  return tf.tidy(() => {
    const out = tf.engine().runKernel(ABS_MAX, { x: w }, attrs as never) as tf.Tensor;
    const engine = tf.engine();
    engine.backend.incRef(out.dataId);
    return engine.makeTensorFromDataId(out.dataId, out.shape, out.dtype);
  });
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
