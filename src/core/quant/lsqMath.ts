// The LSQ arithmetic (Esser et al. 2019, "Learned Step Size Quantization") over flat float32 arrays,
// one pass each: the forward, the straight-through input gradient and the step gradient. Shared by the
// registered kernels (lsqKernels.ts); the per-channel layout is the fake-quant's (fakeQuantMath.ts):
// the channel of flat index i is floor(i / inner) % channels.
import type { ChannelLayout } from './fakeQuantMath.js';

/**
 * Smallest step the forward uses. A step the optimizer pushed to 0 or below would divide by zero or
 * flip the grid; the forward uses max(step, LSQ_MIN_STEP) instead, and the step gradient is passed
 * through that clamp unchanged (as if it were not there), so the optimizer can still move the step up.
 */
export const LSQ_MIN_STEP = 2 ** -27; // ≈ 7.45e-9; a power of two, so float32 and double agree on it

export interface LsqAttrs {
  /** Lowest integer level (e.g. -128, or -127 narrow, or 0 unsigned). */
  qn: number;
  /** Highest integer level (e.g. 127 or 255). */
  qp: number;
  /** Factor applied to the step gradient: 1 / sqrt(numel * qp) by default (numel per channel). */
  gradScale: number;
}

/** Integer levels of a `bits`-bit grid: signed [-2^(b-1) (+1 if narrow), 2^(b-1) - 1], unsigned [0, 2^b - 1]. */
export function lsqLevels(bits: number, signed: boolean, narrowRange: boolean): { qn: number; qp: number } {
  if (!signed) {
    // Without a zero point, an unsigned narrow grid [1, 2^b - 1] could not represent 0.
    if (narrowRange) throw new RangeError('narrowRange applies to signed LSQ grids only');
    return { qn: 0, qp: 2 ** bits - 1 };
  }
  const qp = 2 ** (bits - 1) - 1;
  return { qn: narrowRange ? -qp : -qp - 1, qp };
}

/** Steps as the forward uses them: finite (else an error naming the tensor), clamped to LSQ_MIN_STEP. */
export function effectiveSteps(step: ArrayLike<number>, what: string): Float64Array {
  const out = new Float64Array(step.length);
  for (let c = 0; c < step.length; c++) {
    const s = step[c]!;
    if (!Number.isFinite(s)) throw new RangeError(`${what}: LSQ step ${c} is ${s}; the step must be finite`);
    out[c] = s > LSQ_MIN_STEP ? s : LSQ_MIN_STEP;
  }
  return out;
}

function nonFinite(x: Float32Array, what: string): RangeError {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isFinite(v)) return new RangeError(`${what}: input has ${v} at flat index ${i}; LSQ refuses NaN/Inf inputs`);
  }
  return new RangeError(`${what}: non-finite input`);
}

/**
 * y = clamp(floor(x/s + 0.5), qn, qp) * s: rounding half up as the fake-quant op does. x/s is evaluated
 * in double from the float32 operands and y rounded to float32 once (q * s is exact in double), so ties
 * are decided exactly and the result does not depend on float32 rounding of the quotient.
 */
export function lsqForward(x: Float32Array, steps: Float64Array, attrs: LsqAttrs, layout: ChannelLayout, out: Float32Array, what = 'lsq'): void {
  const { channels, inner } = layout;
  const { qn, qp } = attrs;
  const blocks = x.length / inner;
  let bad = false;
  for (let b = 0, i = 0; b < blocks; b++) {
    const s = steps[b % channels]!;
    for (let k = 0; k < inner; k++, i++) {
      const v = x[i]!;
      // v - v is 0 for finite values and NaN for NaN/±Inf: one check catches all three.
      if (v - v !== 0) bad = true;
      const q = Math.floor(v / s + 0.5);
      out[i] = (q < qn ? qn : q > qp ? qp : q) * s;
    }
  }
  if (bad) throw nonFinite(x, what);
}

/** dx = dy where qn <= x/s <= qp (boundaries included, as the fake-quant's straight-through rule), else 0. */
export function lsqInputGrad(dy: Float32Array, x: Float32Array, steps: Float64Array, attrs: LsqAttrs, layout: ChannelLayout, dx: Float32Array): void {
  const { channels, inner } = layout;
  const { qn, qp } = attrs;
  const blocks = x.length / inner;
  for (let b = 0, i = 0; b < blocks; b++) {
    const s = steps[b % channels]!;
    for (let k = 0; k < inner; k++, i++) {
      const v = x[i]! / s;
      dx[i] = v < qn || v > qp ? 0 : dy[i]!;
    }
  }
}

/**
 * d step = gradScale * sum of dy * (round(v) - v) for qn <= v <= qp, dy * qn for v < qn, dy * qp for
 * v > qp, with v = x/s, per channel. Accumulated in double: a whole tensor's sum loses bits in float32.
 */
export function lsqStepGrad(dy: Float32Array, x: Float32Array, steps: Float64Array, attrs: LsqAttrs, layout: ChannelLayout, ds: Float32Array): void {
  const { channels, inner } = layout;
  const { qn, qp } = attrs;
  const blocks = x.length / inner;
  const acc = new Float64Array(channels);
  for (let b = 0, i = 0; b < blocks; b++) {
    const c = b % channels;
    const s = steps[c]!;
    let sum = 0;
    for (let k = 0; k < inner; k++, i++) {
      const v = x[i]! / s;
      const g = dy[i]!;
      if (v < qn) sum += g * qn;
      else if (v > qp) sum += g * qp;
      else sum += g * (Math.floor(v + 0.5) - v);
    }
    acc[c] = acc[c]! + sum;
  }
  for (let c = 0; c < channels; c++) ds[c] = acc[c]! * attrs.gradScale;
}
