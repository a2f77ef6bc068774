// LSQ, the learned-step-size quantizer (Esser et al. 2019; DESIGN.md §3 "Learned ranges"):
//   y = clamp(floor(x/s + 0.5), Qn, Qp) * s
// with the step s a trainable variable (scalar, or 1-D per channel along `axis`). Gradients:
//   dx = dy where Qn <= x/s <= Qp, else 0 (straight-through; boundaries included as in fake-quant)
//   ds = gradScale * sum(dy * (round(x/s) - x/s) inside, dy * Qn below, dy * Qp above)
// gradScale = 1 / sqrt(numel * Qp), numel counted per channel for a per-channel step.
import * as tf from '../tf.js';
import { channelLayout } from './fakeQuantKernels.js';
import { effectiveSteps, LSQ_MIN_STEP, lsqLevels } from './lsqMath.js';
import { hasLsqKernel, LSQ, type LsqKernelAttrs, registerLsqKernels } from './lsqKernels.js';
import { checkBits } from './params.js';

registerLsqKernels();

export { LSQ_MIN_STEP } from './lsqMath.js';

export interface LsqOptions {
  bits: number;
  /** Signed grid [-2^(b-1), 2^(b-1) - 1] (weights) or unsigned [0, 2^b - 1] (e.g. after ReLU). */
  signed: boolean;
  /** Signed only: drop the lowest level, [-(2^(b-1) - 1), 2^(b-1) - 1] (the int8 weight grid). */
  narrowRange?: boolean;
  /** Axis of x a per-channel (1-D) step runs along (default: last). Ignored for a scalar step. */
  axis?: number;
  /** Overrides the step-gradient scale 1 / sqrt(numel * Qp). */
  gradScale?: number;
  /** Names the quantized tensor in errors. */
  label?: string;
}

/**
 * Quantizes x on the grid of step `step` (see the file comment). The forward uses max(step,
 * LSQ_MIN_STEP) so a step driven to <= 0 cannot divide by zero; the step gradient ignores that clamp,
 * so the optimizer can still push such a step back up. NaN/Inf in x or in the step is an error naming
 * `label`.
 */
export function lsqQuantize(x: tf.Tensor, step: tf.Tensor, options: LsqOptions): tf.Tensor {
  checkBits(options.bits);
  if (x.dtype !== 'float32') throw new TypeError(`LSQ needs float32 input, got ${x.dtype}`);
  if (step.rank > 1) throw new RangeError(`the LSQ step must be a scalar or a 1-D per-channel vector, got rank ${step.rank}`);
  const { qn, qp } = lsqLevels(options.bits, options.signed, options.narrowRange ?? false);
  const perChannel = step.rank === 1 && !(step.size === 1 && options.axis === undefined);
  const axis = perChannel ? normaliseAxis(options.axis ?? -1, x.rank) : -1;
  const layout = channelLayout(x.shape, perChannel ? step.size : 1, axis);
  const numel = Math.max(1, x.size / layout.channels);
  const gradScale = options.gradScale ?? 1 / Math.sqrt(numel * qp);
  if (!(gradScale >= 0) || !Number.isFinite(gradScale)) throw new RangeError(`gradScale must be finite and >= 0, got ${gradScale}`);
  const attrs: LsqKernelAttrs = { qn, qp, gradScale, axis, label: options.label ?? 'lsq' };
  return tf.tidy(() => {
    const s = perChannel ? step : tf.reshape(step, []);
    if (hasLsqKernel()) return tf.engine().runKernel(LSQ, { x, step: s }, attrs as never) as tf.Tensor;
    return compositeLsq(x, s, attrs);
  });
}

function normaliseAxis(axis: number, rank: number): number {
  const ax = axis < 0 ? rank + axis : axis;
  if (ax < 0 || ax >= rank) throw new RangeError(`axis ${axis} is out of range for a rank-${rank} tensor`);
  return ax;
}

/**
 * The same op as a chain of TF.js ops, for backends without the kernels. It computes x/s in float32,
 * so a value within an ulp of a .5 tie may land one level away from the kernels' result. Exported for
 * tests; `step` must be a scalar (per-tensor) or 1-D of x.shape[axis].
 */
export function compositeLsq(x: tf.Tensor, step: tf.Tensor, attrs: LsqKernelAttrs): tf.Tensor {
  return tf.tidy(() => {
    effectiveSteps(step.dataSync(), attrs.label); // a few numbers: refuses a NaN/Inf step as the kernels do
    if (!tf.tidy(() => tf.all(tf.isFinite(x))).dataSync()[0]) {
      throw new RangeError(`${attrs.label}: input contains NaN or Inf; LSQ refuses non-finite inputs`);
    }
    const { qn, qp, gradScale, axis } = attrs;
    const bshape = x.shape.map((d, i) => (i === axis ? d : 1));
    const reduceAxes = x.shape.map((_, i) => i).filter((i) => i !== axis);
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [input, st, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      const s = tf.maximum(axis < 0 ? st : tf.reshape(st, bshape), LSQ_MIN_STEP);
      const v = tf.div(input, s);
      const r = tf.floor(tf.add(v, 0.5));
      save([v, r]);
      return {
        value: tf.mul(tf.clipByValue(r, qn, qp), s),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [vs, rs] = saved as [tf.Tensor, tf.Tensor];
          const below = tf.less(vs, qn);
          const above = tf.greater(vs, qp);
          const dx = tf.where(tf.logicalOr(below, above), tf.zerosLike(dy), dy);
          const factor = tf.where(below, tf.fill(vs.shape, qn), tf.where(above, tf.fill(vs.shape, qp), tf.sub(rs, vs)));
          const terms = tf.mul(dy, factor);
          const ds = tf.mul(axis < 0 ? tf.sum(terms) : tf.sum(terms, reduceAxes), gradScale);
          return [dx, ds];
        },
      };
    });
    return op(x, step) as tf.Tensor;
  });
}

export interface LsqInitOptions {
  bits: number;
  signed: boolean;
  narrowRange?: boolean;
  /** Per-channel along this axis (a 1-D step of x.shape[axis]); per-tensor (a scalar) when omitted. */
  axis?: number;
}

/**
 * The paper's initial step from data: s0 = 2 * mean(|x|) / sqrt(Qp), per tensor or per channel.
 * An all-zero tensor (or channel) gets LSQ_MIN_STEP, the smallest step the forward uses.
 */
export function lsqInitialStep(x: tf.Tensor, options: LsqInitOptions): tf.Tensor {
  checkBits(options.bits);
  const { qp } = lsqLevels(options.bits, options.signed, options.narrowRange ?? false);
  return tf.tidy(() => {
    const a = tf.abs(x);
    const mean = options.axis === undefined ? tf.mean(a) : tf.mean(a, x.shape.map((_, i) => i).filter((i) => i !== normaliseAxis(options.axis!, x.rank)));
    return tf.maximum(tf.mul(mean, 2 / Math.sqrt(qp)), LSQ_MIN_STEP);
  });
}
