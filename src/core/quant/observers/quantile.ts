// Quantiles from a histogram, on NumPy's default ("linear") definition: the value at fractional rank
// r = q * (n - 1) of the sorted values, interpolated between ranks floor(r) and floor(r) + 1. Within a
// bin, the c values are taken as evenly spread (the k-th at (k + 0.5) / c of the bin), so each rank's
// estimate lies in the bin that holds the true value: the error is below one bin width. Ranks 0 and
// n - 1 are the exact extremes, which the histogram tracks.
import type { HistogramView } from './histogram.js';

export function histogramQuantile(h: HistogramView, q: number): number {
  if (h.total === 0) throw new RangeError('quantile of an empty histogram');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
  if (h.width === 0) return h.lo;
  const r = q * (h.total - 1);
  const k = Math.floor(r);
  const a = valueAtRank(h, k);
  const frac = r - k;
  return frac === 0 ? a : a + frac * (valueAtRank(h, k + 1) - a);
}

function valueAtRank(h: HistogramView, k: number): number {
  if (k <= 0) return h.min;
  if (k >= h.total - 1) return h.max;
  const counts = h.counts;
  const binWidth = h.width / counts.length;
  let cum = 0;
  for (let b = 0; b < counts.length; b++) {
    const c = counts[b]!;
    if (k < cum + c) {
      const v = h.lo + (b + (k - cum + 0.5) / c) * binWidth;
      return v < h.min ? h.min : v > h.max ? h.max : v;
    }
    cum += c;
  }
  return h.max;
}
