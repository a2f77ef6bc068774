// MSE-optimal clipping range from a histogram (the approach of TensorRT's and NVIDIA
// pytorch-quantization's "mse" calibrators, and of PyTorch's HistogramObserver): try clipping ranges
// at histogram bin edges and keep the one whose quantize-dequantize error, with every bin's count
// placed at its centre, is smallest.
//   symmetric (histogram of |x| from 0): thresholds t = k bin widths, k = 1..(bin holding max|x|),
//     grid [-t, t] with 2^(b-1) - 1 levels a side (the narrow int8 weight grid, zero point 0).
//   asymmetric: lower and upper edges each moved inwards in MSE_STEPS steps of span/MSE_STEPS over the
//     occupied bins (all pairs), graded on the grid fake-quant gives the range: nudged (params.ts) after
//     widening to contain 0 when `includeZero`.
// Candidates are clamped to the exact data extremes, so the first candidate is the min/max range and the
// result is never worse than it on the histogram. Each candidate costs O(levels) with prefix sums over
// the bins (the bins of one grid cell form a contiguous run), or O(bins) when levels outnumber bins.
import type { HistogramView } from './histogram.js';
import { nudgeRange } from '../params.js';

/** Positions per end in the asymmetric search (a 1/MSE_STEPS resolution of the data span). */
export const MSE_STEPS = 128;

export interface MseOptions {
  bits: number;
  symmetric: boolean;
  /** Asymmetric grid: fake-quant's narrow_range. */
  narrowRange: boolean;
  /** Asymmetric grid: grade ranges after widening them to contain 0. */
  includeZero: boolean;
}

export function mseRange(h: HistogramView, opts: MseOptions): { min: number; max: number } {
  if (h.total === 0) throw new RangeError('MSE search on an empty histogram');
  if (h.min === h.max || h.width === 0) return opts.symmetric ? { min: -h.max, max: h.max } : { min: h.min, max: h.max };
  const bins = h.counts.length;
  const bw = h.width / bins;
  const p = prefixSums(h.counts);
  if (opts.symmetric) {
    const qp = 2 ** (opts.bits - 1) - 1;
    const origin = -h.lo / bw; // 0 in bin units (the |x| histogram starts at 0, so this is 0)
    const last = Math.min(bins, Math.max(1, Math.ceil((h.max - h.lo) / bw)));
    let best = Number.POSITIVE_INFINITY;
    let bestT = h.max;
    for (let k = 1; k <= last; k++) {
      const t = Math.min(h.lo + k * bw, h.max);
      const err = gridError(p, bins, origin, t / qp / bw, qp + 1);
      if (err < best) [best, bestT] = [err, t];
    }
    return { min: -bestT, max: bestT };
  }
  let b0 = 0;
  while (h.counts[b0] === 0) b0++;
  let b1 = bins;
  while (h.counts[b1 - 1] === 0) b1--;
  const span = b1 - b0;
  let best = Number.POSITIVE_INFINITY;
  let bestRange = { min: h.min, max: h.max };
  for (let i = 0; i < MSE_STEPS; i++) {
    const lo = Math.max(h.lo + (b0 + Math.floor((i * span) / MSE_STEPS)) * bw, h.min);
    for (let j = 0; j < MSE_STEPS; j++) {
      const hi = Math.min(h.lo + (b1 - Math.floor((j * span) / MSE_STEPS)) * bw, h.max);
      if (!(hi > lo)) break;
      const n = nudgeRange(opts.includeZero ? Math.min(lo, 0) : lo, opts.includeZero ? Math.max(hi, 0) : hi, opts.bits, opts.narrowRange);
      if (n.scale === 0) continue;
      const err = gridError(p, bins, (n.nudgedMin - h.lo) / bw, n.scale / bw, n.qmax - n.qmin + 1);
      if (err < best) [best, bestRange] = [err, { min: lo, max: hi }];
    }
  }
  return bestRange;
}

interface Prefix {
  n: Float64Array;
  s1: Float64Array;
  s2: Float64Array;
}

/** Prefix sums of count, count * x and count * x^2 with x the bin centre in bin units (b + 0.5). */
function prefixSums(counts: Float64Array): Prefix {
  const len = counts.length;
  const n = new Float64Array(len + 1);
  const s1 = new Float64Array(len + 1);
  const s2 = new Float64Array(len + 1);
  for (let b = 0; b < len; b++) {
    const c = counts[b]!;
    const x = b + 0.5;
    n[b + 1] = n[b]! + c;
    s1[b + 1] = s1[b]! + c * x;
    s2[b + 1] = s2[b]! + c * x * x;
  }
  return { n, s1, s2 };
}

/**
 * Sum of count * (centre - Q(centre))^2 in bin units, for the grid g0 + k * step, k = 0..levels - 1,
 * with Q rounding half up and clamping to the end levels (the end cells reach to ±infinity).
 */
export function gridError(p: Prefix, bins: number, g0: number, step: number, levels: number): number {
  let err = 0;
  if (levels <= bins) {
    let start = 0;
    for (let k = 0; k < levels && start < bins; k++) {
      // Cell k holds the bins whose centre b + 0.5 rounds to level k: b < g0 + (k + 0.5) step - 0.5.
      let end = k === levels - 1 ? bins : Math.ceil(g0 + (k + 0.5) * step - 0.5);
      end = end < start ? start : end > bins ? bins : end;
      const n = p.n[end]! - p.n[start]!;
      if (n > 0) {
        const g = g0 + k * step;
        err += Math.max(0, p.s2[end]! - p.s2[start]! - 2 * g * (p.s1[end]! - p.s1[start]!) + g * g * n);
      }
      start = end;
    }
    return err;
  }
  for (let b = 0; b < bins; b++) {
    const c = p.n[b + 1]! - p.n[b]!;
    if (c === 0) continue;
    const x = b + 0.5;
    const q = Math.floor((x - g0) / step + 0.5);
    const d = x - g0 - (q < 0 ? 0 : q > levels - 1 ? levels - 1 : q) * step;
    err += c * d * d;
  }
  return err;
}
