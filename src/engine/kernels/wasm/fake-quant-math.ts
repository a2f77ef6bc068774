// The fake-quant arithmetic the engine's WASM kernels (fake-quant.ts) must reproduce bit for bit. The
// engine may not import src/core, so the small pieces it needs are duplicated here; the originals are
// src/core/quant/params.ts (nudgeRange, checkBits) and src/core/quant/fakeQuantMath.ts (nudgeAll and the
// scalar loops), src/core/quant/fakeQuantKernels.ts (channelLayout, kernel names, attributes).
// tests/engine/fake-quant.test.ts cross-checks these copies against the originals.
import { util } from '@tensorflow/tfjs-core';

/** Kernel names, as src/core/quant/fakeQuantKernels.ts registers them. */
export const FAKE_QUANT = 'QatFakeQuant';
export const FAKE_QUANT_GRAD = 'QatFakeQuantGrad';
export const FAKE_QUANT_RANGE_GRAD = 'QatFakeQuantRangeGrad';

/** The kernels' attributes (FakeQuantKernelAttrs in core). */
export interface FakeQuantKernelAttrs {
  bits: number;
  narrowRange: boolean;
  /** Quantization axis for per-channel ranges; -1 with a scalar range means per-tensor. */
  axis: number;
  label: string;
}

export interface NudgedRange {
  qmin: number;
  qmax: number;
  scale: number;
  zeroPoint: number;
  nudgedMin: number;
  nudgedMax: number;
}

export interface ChannelLayout {
  channels: number;
  inner: number;
}

/** Copy of checkBits in src/core/quant/params.ts. */
function checkBits(bits: number, low = 2, high = 16): void {
  if (!Number.isInteger(bits) || bits < low || bits > high) {
    throw new RangeError(`bits must be an integer in [${low}, ${high}], got ${bits}`);
  }
}

/** Copy of nudgeRange in src/core/quant/params.ts (TF's nudging, float32 results, degenerate → scale 0). */
export function nudgeRange(min: number, max: number, bits: number, narrowRange = false): NudgedRange {
  checkBits(bits);
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    throw new RangeError(`quantization range must be finite, got [${min}, ${max}]`);
  }
  if (min > max) throw new RangeError(`quantization range is inverted: min ${min} > max ${max}`);
  const f = Math.fround;
  const qmin = narrowRange ? 1 : 0;
  const qmax = 2 ** bits - 1;
  const lo = f(min);
  const scale = f((f(max) - lo) / (qmax - qmin));
  if (scale === 0) return { qmin, qmax, scale: 0, zeroPoint: min < 0 ? qmax : qmin, nudgedMin: 0, nudgedMax: 0 };
  const v = qmin - lo / scale;
  const zeroPoint = v <= qmin ? qmin : v >= qmax ? qmax : Math.floor(v + 0.5);
  return { qmin, qmax, scale, zeroPoint, nudgedMin: f((qmin - zeroPoint) * scale), nudgedMax: f((qmax - zeroPoint) * scale) };
}

/** Copy of nudgeAll in src/core/quant/fakeQuantMath.ts (same error messages). */
export function nudgeAll(min: ArrayLike<number>, max: ArrayLike<number>, attrs: FakeQuantKernelAttrs, what: string): NudgedRange[] {
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

/** Copy of channelLayout in src/core/quant/fakeQuantKernels.ts: channel of flat index i = floor(i / inner) % channels. */
export function channelLayout(shape: number[], rangeSize: number, axis: number): ChannelLayout {
  if (rangeSize === 1 && axis < 0) return { channels: 1, inner: Math.max(1, util.sizeFromShape(shape)) };
  const ax = axis < 0 ? shape.length + axis : axis;
  if (shape[ax] !== rangeSize) {
    throw new RangeError(`per-channel range has ${rangeSize} values but axis ${axis} of shape [${shape}] has ${shape[ax]}`);
  }
  return { channels: rangeSize, inner: util.sizeFromShape(shape.slice(ax + 1)) };
}

/** The error core's fakeQuantForward throws for the first NaN/±Inf of x. */
export function nonFiniteError(x: Float32Array, what: string): RangeError {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isFinite(v)) return new RangeError(`${what}: input has ${v} at flat index ${i}; fake-quant refuses NaN/Inf inputs`);
  }
  return new RangeError(`${what}: non-finite input`);
}

const channelOf = (i: number, layout: ChannelLayout) => Math.floor(i / layout.inner) % layout.channels;

// The scalar loops over flat indices [from, to): the reference's arithmetic element by element, for
// the SIMD loops' tails and for runtimes without WebAssembly SIMD.

/** Forward; returns true when some x in the span is NaN or ±Inf. */
export function forwardSpan(x: Float32Array, out: Float32Array, ranges: NudgedRange[], layout: ChannelLayout, from: number, to: number): boolean {
  let bad = false;
  for (let i = from; i < to; i++) {
    const r = ranges[channelOf(i, layout)]!;
    const v = x[i]!;
    if (v - v !== 0) bad = true;
    const s = r.scale;
    if (s === 0) {
      out[i] = 0;
      continue;
    }
    const lo = r.nudgedMin;
    const hi = r.nudgedMax;
    const c = v < lo ? lo : v > hi ? hi : v;
    out[i] = (Math.floor((c - lo) / s + 0.5) + (r.qmin - r.zeroPoint)) * s;
  }
  return bad;
}

export function inputGradSpan(dy: Float32Array, x: Float32Array, dx: Float32Array, ranges: NudgedRange[], layout: ChannelLayout, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const r = ranges[channelOf(i, layout)]!;
    const v = x[i]!;
    dx[i] = v < r.nudgedMin || v > r.nudgedMax ? 0 : dy[i]!;
  }
}

/** Adds the span's dy below/above each channel's range into accMin/accMax (float64). */
export function rangeGradSpan(dy: Float32Array, x: Float32Array, ranges: NudgedRange[], layout: ChannelLayout, from: number, to: number, accMin: Float64Array, accMax: Float64Array): void {
  for (let i = from; i < to; i++) {
    const c = channelOf(i, layout);
    const r = ranges[c]!;
    const v = x[i]!;
    if (v < r.nudgedMin) accMin[c] = accMin[c]! + dy[i]!;
    else if (v > r.nudgedMax) accMax[c] = accMax[c]! + dy[i]!;
  }
}
