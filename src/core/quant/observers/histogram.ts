// A fixed-size histogram of one channel's values that grows with the data, for calibrators that must
// see huge batches in bounded memory (percentile, MSE). It starts at the first batch's exact [min, max]
// and, when later values fall outside, moves and widens by a power of two f, starting on an old bin
// edge: every new bin is then the union of f old ones, so re-binning moves counts exactly (no
// interpolation error). The width stays below 2 * (data range) / (1 - 2 / bins).
// While every value seen is the same (constant or all-zero tensors) the histogram is a point mass.

export interface HistogramView {
  /** Lower edge of bin 0. */
  readonly lo: number;
  /** Total width of the bins (0 for a point mass: every value equals lo). */
  readonly width: number;
  readonly counts: Float64Array;
  /** Exact extremes of the values counted. */
  readonly min: number;
  readonly max: number;
  readonly total: number;
}

export class Histogram implements HistogramView {
  lo = 0;
  width = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  total = 0;
  readonly counts: Float64Array;

  constructor(readonly bins: number) {
    this.counts = new Float64Array(bins);
  }

  /** Makes the histogram cover [dmin, dmax] (finite, dmin <= dmax) before those values are added. */
  cover(dmin: number, dmax: number): void {
    const bins = this.bins;
    if (this.total === 0) {
      this.lo = dmin;
      this.width = dmax - dmin;
      return;
    }
    if (dmin >= this.lo && dmax <= this.lo + this.width) return;
    if (this.width === 0) {
      // Point mass at lo: lay out the first real range exactly and put the mass in its bin.
      const point = this.lo;
      this.lo = Math.min(point, dmin);
      this.width = Math.max(point, dmax) - this.lo;
      this.counts[0] = 0;
      this.counts[this.binOf(point)] = this.total;
      return;
    }
    // Only bins between the data extremes seen so far hold counts, so the new layout must cover those
    // and the new values, start on an old bin edge (shift, in old bins, may be negative: empty bins
    // drop off the bottom) and span a power of two of the old width. Its width then stays below
    // 2 * (data range + one old bin).
    const w = this.width / bins;
    const lower = Math.min(this.min, dmin);
    const upper = Math.max(this.max, dmax);
    const shift = Math.ceil((this.lo - lower) / w);
    let f = 1;
    while (this.lo - shift * w + f * this.width < upper) f *= 2;
    const old = this.counts.slice();
    this.counts.fill(0);
    const last = bins - 1;
    for (let j = 0; j < bins; j++) {
      const c = old[j]!;
      if (c === 0) continue;
      const b = Math.floor((j + shift) / f); // in [0, bins) for every non-empty bin, up to rounding
      this.counts[b < 0 ? 0 : b > last ? last : b]! += c;
    }
    // A rounding ulp may leave a value a hair outside the new edges: binning clamps it into the end bins.
    this.lo -= shift * w;
    this.width *= f;
  }

  binOf(v: number): number {
    if (this.width === 0) return 0;
    const b = Math.floor((v - this.lo) * (this.bins / this.width));
    return b < 0 ? 0 : b >= this.bins ? this.bins - 1 : b;
  }

  /** Counts x[start .. start + length) (absolute values if `abs`), after cover() made room for them. */
  addBlock(x: Float32Array, start: number, length: number, abs: boolean): void {
    const counts = this.counts;
    const last = this.bins - 1;
    if (this.width === 0) {
      counts[0]! += length;
    } else {
      const origin = this.lo;
      const scale = this.bins / this.width; // as NumPy's histogram computes bin indices
      for (let i = start, end = start + length; i < end; i++) {
        const v = abs ? Math.abs(x[i]!) : x[i]!;
        const b = Math.floor((v - origin) * scale);
        counts[b < 0 ? 0 : b > last ? last : b]! += 1;
      }
    }
    this.total += length;
  }

  /** Records the exact extremes of values added (quantiles and the MSE search clamp to them). */
  noteExtremes(lo: number, hi: number): void {
    if (lo < this.min) this.min = lo;
    if (hi > this.max) this.max = hi;
  }
}
