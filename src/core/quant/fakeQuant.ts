// The fake-quant op of DESIGN.md §3: forward on TF's nudged grid and straight-through gradients for
// the input, min and max. Per-tensor (scalar min/max) or per-channel (1-D min/max along `axis`).
import * as tf from '../tf.js';
import { channelLayout, FAKE_QUANT, type FakeQuantKernelAttrs, hasFakeQuantKernel, registerFakeQuantKernels } from './fakeQuantKernels.js';
import { nudgeAll } from './fakeQuantMath.js';
import { checkBits } from './params.js';

registerFakeQuantKernels();

export interface FakeQuantOptions {
  bits: number;
  narrowRange?: boolean;
  /** Axis of x that per-channel ranges run along (default: last). Ignored for scalar ranges. */
  axis?: number;
  /** Names the quantized tensor in errors. */
  label?: string;
}

export function fakeQuant(x: tf.Tensor, min: tf.Tensor, max: tf.Tensor, options: FakeQuantOptions): tf.Tensor {
  checkBits(options.bits);
  if (x.dtype !== 'float32') throw new TypeError(`fake-quant needs float32 input, got ${x.dtype}`);
  if (min.size !== max.size) throw new RangeError(`min has ${min.size} values but max has ${max.size}`);
  if (min.rank > 1) throw new RangeError(`min/max must be scalars or 1-D per-channel vectors, got rank ${min.rank}`);
  const perChannel = min.rank === 1 && !(min.size === 1 && options.axis === undefined);
  const attrs: FakeQuantKernelAttrs = {
    bits: options.bits,
    narrowRange: options.narrowRange ?? false,
    axis: perChannel ? normaliseAxis(options.axis ?? -1, x.rank) : -1,
    label: options.label ?? 'fake-quant',
  };
  channelLayout(x.shape, perChannel ? min.size : 1, attrs.axis);
  return tf.tidy(() => {
    const lo = perChannel ? min : tf.reshape(min, []);
    const hi = perChannel ? max : tf.reshape(max, []);
    if (hasFakeQuantKernel()) return tf.engine().runKernel(FAKE_QUANT, { x, min: lo, max: hi }, attrs as never) as tf.Tensor;
    return compositeFakeQuant(x, lo, hi, attrs);
  });
}

function normaliseAxis(axis: number, rank: number): number {
  const ax = axis < 0 ? rank + axis : axis;
  if (ax < 0 || ax >= rank) throw new RangeError(`axis ${axis} is out of range for a rank-${rank} tensor`);
  return ax;
}

/**
 * The same op as a chain of TF.js ops, for backends without the single-pass kernels (e.g. tfjs-node).
 * Reads min/max (a few numbers) to nudge them exactly as the kernels do. Exported for tests.
 */
export function compositeFakeQuant(x: tf.Tensor, min: tf.Tensor, max: tf.Tensor, attrs: FakeQuantKernelAttrs): tf.Tensor {
  return tf.tidy(() => composite(x, min, max, attrs));
}

function composite(x: tf.Tensor, min: tf.Tensor, max: tf.Tensor, attrs: FakeQuantKernelAttrs): tf.Tensor {
  const ranges = nudgeAll(min.dataSync(), max.dataSync(), attrs, attrs.label);
  if (!tf.tidy(() => tf.all(tf.isFinite(x))).dataSync()[0]) {
    throw new RangeError(`${attrs.label}: input contains NaN or Inf; fake-quant refuses non-finite inputs`);
  }
  const bshape = x.shape.map((d, i) => (i === attrs.axis ? d : 1));
  const column = (values: number[]) => (attrs.axis < 0 ? tf.scalar(values[0]!) : tf.tensor(values, bshape));
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const save = args[3] as tf.GradSaveFunc;
    const nmin = column(ranges.map((r) => r.nudgedMin));
    const nmax = column(ranges.map((r) => r.nudgedMax));
    const scale = column(ranges.map((r) => r.scale));
    const offset = column(ranges.map((r) => r.qmin - r.zeroPoint));
    const safeScale = tf.where(tf.equal(scale, 0), tf.onesLike(scale), scale);
    const clamped = tf.minimum(tf.maximum(input, nmin), nmax);
    // (q + qmin - zeroPoint) * scale, as the kernels compute it, keeps 0.0 exact.
    const q = tf.floor(tf.add(tf.div(tf.sub(clamped, nmin), safeScale), 0.5));
    const y = tf.mul(tf.add(q, offset), scale);
    save([input, nmin, nmax]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, lo, hi] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const below = tf.less(xs, lo);
        const above = tf.greater(xs, hi);
        const zeros = tf.zerosLike(dy);
        const dx = tf.where(tf.logicalOr(below, above), zeros, dy);
        const reduceAxes = x.shape.map((_, i) => i).filter((i) => i !== attrs.axis);
        const sumTo = (t: tf.Tensor) => (attrs.axis < 0 ? tf.sum(t) : tf.sum(t, reduceAxes));
        return [dx, sumTo(tf.where(below, dy, zeros)), sumTo(tf.where(above, dy, zeros))];
      },
    };
  });
  return op(x, min, max) as tf.Tensor;
}
