import {
  reshape,
  reverse,
  stack,
  stridedSlice,
  zeros,
  type backend_util,
  type Tensor4D,
} from '@tensorflow/tfjs-core';
import { sliceToWindow, type ConvWindow, type Pair } from './conv-ops.js';
import { heapSlice } from './heap-slice.js';
import { axisWindow, type AxisWindow } from './window.js';

/**
 * The input gradient of a convolution as forward convolutions of dy with the flipped filter.
 *
 * Along one axis, with padding `pad`, stride s and dilation d: dx[h] = Σ_p dy[(h + pad − p·d) / s]·w[p]
 * over the taps p where the division is exact. Zero-stuffing dy to undo the stride would waste s²
 * of the work, so the output rows are split by phase r = (h + pad) mod s instead: each phase sees
 * only the taps with p·d ≡ r (mod s), which form a stride-(s/g) subsequence of the filter (g =
 * gcd(s, d)) meeting dy at dilation d/g — a plain stride-1 convolution. The phases are then
 * interleaved back into rows. With s = 1 there is one phase, the whole flipped filter.
 */
interface AxisPhase {
  /** First tap of the sub-filter, step between its taps, and how many it has. */
  firstTap: number;
  tapStep: number;
  taps: number;
  dilation: number;
  /** The dy rows this phase reads, with zero rows where they fall outside dy. */
  window: AxisWindow;
}

interface AxisPlan {
  /** Rows of each phase's output, and where the input's row 0 sits in the interleaved rows. */
  rows: number;
  offset: number;
  phases: (AxisPhase | null)[];
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function planAxis(inSize: number, outSize: number, filter: number, stride: number, dilation: number, pad: number): AxisPlan {
  const first = Math.floor(pad / stride);
  const last = Math.floor((pad + inSize - 1) / stride);
  const rows = last - first + 1;
  const g = gcd(stride, dilation);
  const phases: (AxisPhase | null)[] = [];
  for (let r = 0; r < stride; r++) {
    let firstTap = -1;
    for (let p = 0; p < filter; p++) {
      if ((p * dilation) % stride === r) {
        firstTap = p;
        break;
      }
    }
    if (firstTap < 0) {
      phases.push(null);
      continue;
    }
    const tapStep = stride / g;
    const taps = Math.floor((filter - 1 - firstTap) / tapStep) + 1;
    const phaseDilation = dilation / g;
    const lag = (firstTap * dilation - r) / stride;
    const span = (taps - 1) * phaseDilation;
    const window = axisWindow(first - lag - span, rows + span, outSize);
    phases.push(window === null ? null : { firstTap, tapStep, taps, dilation: phaseDilation, window });
  }
  return { rows, offset: pad - first * stride, phases };
}

/**
 * Runs one phase: a stride-1 convolution of (windowed) dy, [B, ·, ·, dyChannels], with a flipped
 * sub-filter in the original filter layout, [kh, kw, ·, ·]; must return [B, rows, cols, inChannels].
 */
export type PhaseConvolution = (dy: Tensor4D, flippedFilter: Tensor4D, dilations: Pair, window: ConvWindow) => Tensor4D;

export function inputGradient(
  dy: Tensor4D,
  filter: Tensor4D,
  info: backend_util.Conv2DInfo,
  convolve: PhaseConvolution,
): Tensor4D {
  const { batchSize, inHeight, inWidth, inChannels, filterHeight, filterWidth } = info;
  const vertical = planAxis(inHeight, info.outHeight, filterHeight, info.strideHeight, info.dilationHeight, info.padInfo.top);
  const horizontal = planAxis(inWidth, info.outWidth, filterWidth, info.strideWidth, info.dilationWidth, info.padInfo.left);

  const phase = (v: AxisPhase | null, h: AxisPhase | null): Tensor4D => {
    if (v === null || h === null) return zeros([batchSize, vertical.rows, horizontal.rows, inChannels]);
    const [, , a, b] = filter.shape;
    const whole = v.taps === filterHeight && h.taps === filterWidth;
    const sub = whole
      ? filter
      : (stridedSlice(
          filter,
          [v.firstTap, h.firstTap, 0, 0],
          [v.firstTap + (v.taps - 1) * v.tapStep + 1, h.firstTap + (h.taps - 1) * h.tapStep + 1, a, b],
          [v.tapStep, h.tapStep, 1, 1],
        ) as Tensor4D);
    const window = { rows: v.window, cols: h.window };
    return convolve(sliceToWindow(dy, window), reverse(sub, [0, 1]), [v.dilation, h.dilation], window);
  };

  if (vertical.phases.length === 1 && horizontal.phases.length === 1) {
    const only = phase(vertical.phases[0] ?? null, horizontal.phases[0] ?? null);
    return crop(only, vertical.offset, horizontal.offset, info);
  }
  // [B, rows, sh, cols, sw, C] reshaped to [B, rows·sh, cols·sw, C] puts phase (rh, rw) of output
  // cell (u, v) at row u·sh + rh, column v·sw + rw.
  const interleaved = stack(
    vertical.phases.map((v) => stack(horizontal.phases.map((h) => phase(v, h)), 3)),
    2,
  );
  const grid = reshape(interleaved, [
    batchSize,
    vertical.rows * vertical.phases.length,
    horizontal.rows * horizontal.phases.length,
    inChannels,
  ]) as Tensor4D;
  return crop(grid, vertical.offset, horizontal.offset, info);
}

function crop(t: Tensor4D, top: number, left: number, info: backend_util.Conv2DInfo): Tensor4D {
  const [b, h, w, c] = t.shape;
  if (top === 0 && left === 0 && h === info.inHeight && w === info.inWidth) return t;
  return heapSlice(t, [0, top, left, 0], [b, info.inHeight, info.inWidth, c]);
}
