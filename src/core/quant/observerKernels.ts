// Range observation as registered TF.js kernels for the backends whose memory is a plain typed array
// (cpu, wasm), for the same reason as the fake-quant kernels (fakeQuantKernels.ts): per QAT step an
// activation observer was ~10 small TF.js ops (min, max, equal, and for EMA sub/mul/sub/where per end)
// and a weight range an abs, a max and a read back. One pass each here, with the same float32 bits:
//   QatObserve: the batch min/max (or max|x|) and the new observer state (observer.ts).
//   QatAbsMax:  max|w| per tensor or per channel (weights.ts), with no gradient (see weightAbsMax).
// Reductions follow the CPU and WASM Min/Max kernels exactly: elements in flat order, a value replaces
// the running one if it is NaN or strictly beyond it (so NaN propagates and the first of 0/-0 stays).
// Other backends use the op chains in observer.ts and weights.ts. On WASM the engine replaces QatAbsMax
// with a SIMD pass (src/engine/kernels/wasm/abs-max.ts).
import * as tf from '../tf.js';
import { filledOutput, hasKernel, registerArrayKernel } from './arrayKernels.js';
import { channelLayout } from './fakeQuantKernels.js';
import type { ChannelLayout } from './fakeQuantMath.js';

export const OBSERVE = 'QatObserve';
export const ABS_MAX = 'QatAbsMax';

export interface ObserveKernelAttrs {
  kind: 'minmax' | 'ema';
  /** 'ema' only: weight of the old state. */
  decay: number;
  /** Range [-max|x|, max|x|] instead of [min x, max x]. */
  symmetric: boolean;
  /** Channel axis of x (normalised) for per-channel state; -1 for per-tensor. */
  axis: number;
}

export interface AbsMaxKernelAttrs {
  /** Channel axis of x (normalised); -1 for per-tensor (a scalar result). */
  axis: number;
}

function layoutOf(shape: number[], channels: number, axis: number): ChannelLayout {
  return axis < 0 ? { channels: 1, inner: Math.max(1, tf.util.sizeFromShape(shape)) } : channelLayout(shape, channels, axis);
}

/**
 * lo/hi[c] = min/max of channel c's elements (hi = max|x| and lo = -hi when symmetric), as TF.js's
 * Min/Max (of Abs) give them: flat order, NaN or strictly smaller/larger replaces. x is non-empty.
 */
export function batchRange(x: Float32Array, layout: ChannelLayout, symmetric: boolean, lo: Float32Array | null, hi: Float32Array): void {
  const { channels, inner } = layout;
  const n = x.length;
  const his = new Float64Array(channels);
  const los = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    const v = x[c * inner]!;
    his[c] = symmetric ? Math.abs(v) : v;
    los[c] = v;
  }
  // Fast loops without the NaN test: `acc` sums every element, so it is NaN if any element is (or
  // if +Inf and -Inf both occur); then the exact loop below runs again and decides.
  let acc = 0;
  if (inner === 1 && channels > 1) {
    for (let i = 0, c = 0; i < n; i++) {
      const v = x[i]!;
      acc += v;
      if (symmetric) {
        const a = Math.abs(v);
        if (a > his[c]!) his[c] = a;
      } else {
        if (v > his[c]!) his[c] = v;
        if (v < los[c]!) los[c] = v;
      }
      if (++c === channels) c = 0;
    }
  } else {
    for (let start = 0, b = 0; start < n; start += inner, b++) {
      const c = channels === 1 ? 0 : b % channels;
      let mx = his[c]!;
      let mn = los[c]!;
      const end = start + inner;
      if (symmetric) {
        for (let i = start; i < end; i++) {
          const v = x[i]!;
          acc += v;
          const a = Math.abs(v);
          mx = a > mx ? a : mx;
        }
      } else {
        for (let i = start; i < end; i++) {
          const v = x[i]!;
          acc += v;
          mx = v > mx ? v : mx;
          mn = v < mn ? v : mn;
        }
      }
      his[c] = mx;
      los[c] = mn;
    }
  }
  if (acc !== acc) exactRange(x, layout, symmetric, his, los);
  for (let c = 0; c < channels; c++) {
    hi[c] = his[c]!;
    if (lo) lo[c] = symmetric ? -his[c]! : los[c]!;
  }
}

/** The reference loop, NaN included: NaN or strictly beyond replaces the running value. */
function exactRange(x: Float32Array, layout: ChannelLayout, symmetric: boolean, his: Float64Array, los: Float64Array): void {
  const { channels, inner } = layout;
  for (let c = 0; c < channels; c++) {
    const v = x[c * inner]!;
    his[c] = symmetric ? Math.abs(v) : v;
    los[c] = v;
  }
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const v = x[i]!;
    const a = symmetric ? Math.abs(v) : v;
    if (a > his[c]! || a !== a) his[c] = a;
    if (v < los[c]! || v !== v) los[c] = v;
  }
}

/**
 * The observer's new state from the batch range: 'minmax' takes it; 'ema' takes it on the first batch
 * (initialized === 0) and otherwise s - (s - b) * (1 - decay), each step rounded to float32 as the
 * TF.js ops (sub, mul by a float32 scalar, sub) round it.
 */
export function emaInto(state: Float32Array, batch: Float32Array, initialized: number, decay: number, out: Float32Array): void {
  if (initialized === 0) {
    out.set(batch);
    return;
  }
  const d = Math.fround(1 - decay);
  for (let c = 0; c < out.length; c++) {
    const s = state[c]!;
    out[c] = Math.fround(s - Math.fround(Math.fround(s - batch[c]!) * d));
  }
}

function registerArrayKernels(): void {
  registerArrayKernel<ObserveKernelAttrs>(OBSERVE, (io, i, a) => {
    const { x, min, max, initialized } = i as { x: tf.TensorInfo; min: tf.TensorInfo; max: tf.TensorInfo; initialized: tf.TensorInfo };
    const channels = tf.util.sizeFromShape(min.shape);
    const layout = layoutOf(x.shape, channels, a.axis);
    // Outputs first: a WASM heap that grows on allocation detaches views taken earlier.
    const [outMin, outMinData] = io.alloc(min.shape);
    const [outMax, outMaxData] = io.alloc(max.shape);
    const [outInit, outInitData] = io.alloc(initialized.shape);
    const ema = a.kind === 'ema';
    const lo = ema ? new Float32Array(channels) : outMinData();
    const hi = ema ? new Float32Array(channels) : outMaxData();
    batchRange(io.read(x), layout, a.symmetric, lo, hi);
    if (ema) {
      const init = io.read(initialized)[0]!;
      emaInto(io.read(min), lo, init, a.decay, outMinData());
      emaInto(io.read(max), hi, init, a.decay, outMaxData());
    }
    outInitData()[0] = 1;
    return [outMin, outMax, outInit];
  });
  registerArrayKernel<AbsMaxKernelAttrs>(ABS_MAX, (io, i, a) => {
    const x = i.x!;
    const shape = a.axis < 0 ? [] : [x.shape[a.axis]!];
    const layout = layoutOf(x.shape, shape[0] ?? 1, a.axis);
    return filledOutput(io, shape, (out) => batchRange(io.read(x), layout, true, null, out()));
  });
}

/** Registers the kernels for cpu and wasm where missing; idempotent (and restores an unregistered one). */
export function registerObserverKernels(): void {
  registerArrayKernels();
}

export function hasObserveKernel(): boolean {
  return hasKernel(OBSERVE);
}

export function hasAbsMaxKernel(): boolean {
  return hasKernel(ABS_MAX);
}
