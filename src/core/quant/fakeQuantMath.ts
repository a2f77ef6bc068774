// The fake-quant arithmetic over flat float32 arrays, in one pass: the forward and the straight-through
// gradients of DESIGN.md §3. Shared by the registered kernels (one loop over the backend's memory) and
// used as the reference in tests. Per-channel: channel of flat index i = floor(i / inner) % channels.
import { type NudgedRange, nudgeRange } from './params.js';

export interface ChannelLayout {
  /** Number of ranges (1 = per-tensor). */
  channels: number;
  /** Product of the dimensions after the quantization axis. */
  inner: number;
}

export interface FakeQuantAttrs {
  bits: number;
  narrowRange: boolean;
}

export function nudgeAll(min: ArrayLike<number>, max: ArrayLike<number>, attrs: FakeQuantAttrs, what: string): NudgedRange[] {
  if (min.length !== max.length) throw new RangeError(`${what}: min has ${min.length} values but max has ${max.length}`);
  const ranges: NudgedRange[] = [];
  for (let c = 0; c < min.length; c++) {
    try {
      ranges.push(nudgeRange(min[c]!, max[c]!, attrs.bits, attrs.narrowRange));
    } catch (err) {
      throw new RangeError(`${what}: channel ${c}: ${(err as Error).message}`);
    }
  }
  return ranges;
}

function nonFinite(x: Float32Array | Float64Array, what: string): RangeError {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isFinite(v)) return new RangeError(`${what}: input has ${v} at flat index ${i}; fake-quant refuses NaN/Inf inputs`);
  }
  return new RangeError(`${what}: non-finite input`);
}

/**
 * y = floor((clamp(x, nmin, nmax) - nmin) / scale + 0.5) * scale + nmin, per channel. Evaluated in
 * double from float32 operands as q = floor(...) and y = (q + qmin - zeroPoint) * scale (the same value),
 * rounded to float32 once: exact .5 ties round up, 0.0 maps to exactly 0.0 (the point of nudging, which
 * adding a float32-rounded nudged min would break by an ulp), and extreme ranges do not overflow.
 */
export function fakeQuantForward(x: Float32Array, ranges: NudgedRange[], layout: ChannelLayout, out: Float32Array, what = 'fake-quant'): void {
  const { channels, inner } = layout;
  const blocks = x.length / inner;
  let bad = false;
  for (let b = 0, i = 0; b < blocks; b++) {
    const r = ranges[b % channels]!;
    const lo = r.nudgedMin;
    const hi = r.nudgedMax;
    const s = r.scale;
    const offset = r.qmin - r.zeroPoint;
    for (let k = 0; k < inner; k++, i++) {
      const v = x[i]!;
      // v - v is 0 for finite values and NaN for NaN/±Inf: one check catches all three.
      if (v - v !== 0) bad = true;
      if (s === 0) {
        out[i] = 0;
        continue;
      }
      const c = v < lo ? lo : v > hi ? hi : v;
      out[i] = (Math.floor((c - lo) / s + 0.5) + offset) * s;
    }
  }
  if (bad) throw nonFinite(x, what);
}

/** dx = dy inside [nmin, nmax] (boundaries included), 0 outside. */
export function fakeQuantInputGrad(dy: Float32Array, x: Float32Array, ranges: NudgedRange[], layout: ChannelLayout, dx: Float32Array): void {
  const { channels, inner } = layout;
  const blocks = x.length / inner;
  for (let b = 0, i = 0; b < blocks; b++) {
    const r = ranges[b % channels]!;
    const lo = r.nudgedMin;
    const hi = r.nudgedMax;
    for (let k = 0; k < inner; k++, i++) {
      const v = x[i]!;
      dx[i] = v < lo || v > hi ? 0 : dy[i]!;
    }
  }
}

/** dmin/dmax: the sums of dy where x is below/above the nudged range, per channel. */
export function fakeQuantRangeGrad(dy: Float32Array, x: Float32Array, ranges: NudgedRange[], layout: ChannelLayout, dmin: Float32Array, dmax: Float32Array): void {
  const { channels, inner } = layout;
  const blocks = x.length / inner;
  // Accumulate in float64: sums over a whole tensor lose precision in float32.
  const accMin = new Float64Array(channels);
  const accMax = new Float64Array(channels);
  for (let b = 0, i = 0; b < blocks; b++) {
    const c = b % channels;
    const r = ranges[c]!;
    const lo = r.nudgedMin;
    const hi = r.nudgedMax;
    let sMin = 0;
    let sMax = 0;
    for (let k = 0; k < inner; k++, i++) {
      const v = x[i]!;
      if (v < lo) sMin += dy[i]!;
      else if (v > hi) sMax += dy[i]!;
    }
    accMin[c] = accMin[c]! + sMin;
    accMax[c] = accMax[c]! + sMax;
  }
  for (let c = 0; c < channels; c++) {
    dmin[c] = accMin[c]!;
    dmax[c] = accMax[c]!;
  }
}
