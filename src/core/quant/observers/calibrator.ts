// Post-training calibrators: plain JS over Float32Array batches (no TF.js), per tensor or per channel.
//   'minmax':     running min/max over every batch
//   'ema':        moving average of batch min/max (first batch initialises), decay 0.99 by default: PyTorch's
//                 MovingAverageMinMaxObserver (averaging constant 0.01), since calibration sees few batches
//                 and TFMOT's 0.999 would leave the first batch's range nearly unchanged
//   'percentile': the p-th percentile (default 99.99) of the values (asymmetric: the (100 - p)-th and
//                 p-th; symmetric: of |x|), from a histogram
//   'mse':        the clipping range minimising the histogram's quantization MSE at `bits` (mseSearch.ts)
// Histogram kinds keep `bins` counts per channel (default 2048) that re-bin exactly as the range grows
// (histogram.ts), so memory does not depend on how much data is seen. Symmetric kinds work on |x| and
// return [-a, a]. NaN/Inf values are an error naming the tensor, the batch and the flat index.
import { includeZero as widen } from '../params.js';
import { Histogram, type HistogramView } from './histogram.js';
import { flatLayout } from './layout.js';
import { mseRange } from './mseSearch.js';
import { histogramQuantile } from './quantile.js';

export type CalibratorKind = 'minmax' | 'ema' | 'percentile' | 'mse';

export interface CalibratorOptions {
  /** Names the tensor in errors. */
  name: string;
  /** Per-channel: one range per index of `axis` (this many). Per-tensor when omitted. */
  channels?: number;
  /** Channel axis of the observed shapes (default: last). */
  axis?: number;
  /** [-max|x|, max|x|]-style ranges, from |x|. */
  symmetric?: boolean;
  /** Widen the returned ranges to contain 0 (activations); 'mse' also grades its candidates so. */
  includeZero?: boolean;
  /** 'ema': weight of the old state, in [0, 1). Default 0.99. */
  decay?: number;
  /** 'percentile': in (0, 100], default 99.99. */
  percentile?: number;
  /** 'mse': bit width of the grid the error is measured on, default 8. */
  bits?: number;
  /** 'mse', asymmetric: the fake-quant grid's narrow_range (symmetric grids are always narrow). */
  narrowRange?: boolean;
  /** 'percentile' and 'mse': histogram bins per channel, default 2048. */
  bins?: number;
}

export interface Calibrator {
  readonly name: string;
  readonly kind: CalibratorKind;
  /** Batches with at least one value seen so far. */
  readonly batches: number;
  /** Folds one batch (row-major `values` of `shape`) into the state. */
  observe(values: Float32Array, shape: readonly number[]): void;
  /** One range per channel (one entry per tensor). Throws before any value was observed. */
  range(): { min: number[]; max: number[] };
  /** 'percentile'/'mse': the channel's histogram (of |x| if symmetric), for reports and tests. */
  histogram(channel?: number): HistogramView | undefined;
}

export function createCalibrator(kind: CalibratorKind, opts: CalibratorOptions): Calibrator {
  const { name } = opts;
  validate(kind, opts);
  const channels = opts.channels ?? 1;
  const symmetric = opts.symmetric ?? false;
  const decay = opts.decay ?? 0.99;
  const usesHistogram = kind === 'percentile' || kind === 'mse';
  const histograms = usesHistogram ? Array.from({ length: channels }, () => new Histogram(opts.bins ?? 2048)) : [];
  // minmax/ema state; for symmetric kinds lo holds -max|x| and hi max|x|.
  const lo = new Float64Array(channels);
  const hi = new Float64Array(channels);
  const batchLo = new Float64Array(channels);
  const batchHi = new Float64Array(channels);
  let batches = 0;

  const calibrator: Calibrator = {
    name,
    kind,
    get batches() {
      return batches;
    },
    observe(values, shape) {
      const layout = flatLayout(shape, values.length, opts.channels, opts.axis ?? -1, name);
      if (values.length === 0) return;
      // Pass 1: validate and find each channel's batch extremes (of |x| when symmetric).
      batchLo.fill(Number.POSITIVE_INFINITY);
      batchHi.fill(Number.NEGATIVE_INFINITY);
      const blocks = values.length / layout.inner;
      for (let b = 0, i = 0; b < blocks; b++) {
        const c = b % channels;
        let l = batchLo[c]!;
        let h = batchHi[c]!;
        for (let k = 0; k < layout.inner; k++, i++) {
          let v = values[i]!;
          // v - v is 0 for finite values and NaN for NaN/±Inf: one check catches all three.
          if (v - v !== 0) throw new RangeError(`${name}: batch ${batches + 1} has ${v} at flat index ${i}; calibration refuses NaN/Inf values`);
          if (symmetric && v < 0) v = -v;
          if (v < l) l = v;
          if (v > h) h = v;
        }
        batchLo[c] = l;
        batchHi[c] = h;
      }
      if (usesHistogram) {
        // Pass 2: count. |x| histograms start at 0, the origin of a symmetric grid.
        for (let c = 0; c < channels; c++) histograms[c]!.cover(symmetric ? 0 : batchLo[c]!, batchHi[c]!);
        for (let b = 0; b < blocks; b++) histograms[b % channels]!.addBlock(values, b * layout.inner, layout.inner, symmetric);
        for (let c = 0; c < channels; c++) histograms[c]!.noteExtremes(batchLo[c]!, batchHi[c]!);
      } else {
        for (let c = 0; c < channels; c++) {
          const [bl, bh] = symmetric ? [-batchHi[c]!, batchHi[c]!] : [batchLo[c]!, batchHi[c]!];
          if (batches === 0) [lo[c], hi[c]] = [bl, bh];
          else if (kind === 'minmax') [lo[c], hi[c]] = [Math.min(lo[c]!, bl), Math.max(hi[c]!, bh)];
          else [lo[c], hi[c]] = [lo[c]! - (lo[c]! - bl) * (1 - decay), hi[c]! - (hi[c]! - bh) * (1 - decay)];
        }
      }
      batches++;
    },
    range() {
      if (batches === 0) throw new Error(`${name}: no values observed yet; calibrate before asking for a range`);
      const min: number[] = [];
      const max: number[] = [];
      for (let c = 0; c < channels; c++) {
        let [l, h] = usesHistogram ? histogramRange(kind, histograms[c]!, opts) : [lo[c]!, hi[c]!];
        if (opts.includeZero) [l, h] = widen(l, h);
        min.push(l);
        max.push(h);
      }
      return { min, max };
    },
    histogram(channel = 0) {
      return histograms[channel];
    },
  };
  return calibrator;
}

function histogramRange(kind: CalibratorKind, h: Histogram, opts: CalibratorOptions): [number, number] {
  if (kind === 'mse') {
    const r = mseRange(h, { bits: opts.bits ?? 8, symmetric: opts.symmetric ?? false, narrowRange: opts.narrowRange ?? false, includeZero: opts.includeZero ?? false });
    return [r.min, r.max];
  }
  const p = (opts.percentile ?? 99.99) / 100;
  if (opts.symmetric) {
    const a = histogramQuantile(h, p);
    return [-a, a];
  }
  return [histogramQuantile(h, 1 - p), histogramQuantile(h, p)];
}

function validate(kind: CalibratorKind, opts: CalibratorOptions): void {
  const { name } = opts;
  if (!['minmax', 'ema', 'percentile', 'mse'].includes(kind)) throw new RangeError(`${name}: unknown calibrator kind '${String(kind)}'`);
  if (opts.channels !== undefined && !(Number.isInteger(opts.channels) && opts.channels >= 1)) {
    throw new RangeError(`${name}: channels must be a positive integer, got ${opts.channels}`);
  }
  if (opts.decay !== undefined && !(kind === 'ema' && opts.decay >= 0 && opts.decay < 1)) {
    throw new RangeError(`${name}: decay must be in [0, 1) and applies to 'ema' only, got ${opts.decay}`);
  }
  if (opts.percentile !== undefined && !(kind === 'percentile' && opts.percentile > 0 && opts.percentile <= 100)) {
    throw new RangeError(`${name}: percentile must be in (0, 100] and applies to 'percentile' only, got ${opts.percentile}`);
  }
  if (opts.bits !== undefined && !(kind === 'mse' && Number.isInteger(opts.bits) && opts.bits >= 2 && opts.bits <= 16)) {
    throw new RangeError(`${name}: bits must be an integer in [2, 16] and applies to 'mse' only, got ${opts.bits}`);
  }
  if (opts.bins !== undefined && !((kind === 'percentile' || kind === 'mse') && Number.isInteger(opts.bins) && opts.bins >= 8)) {
    throw new RangeError(`${name}: bins must be an integer >= 8 and applies to histogram calibrators only, got ${opts.bins}`);
  }
}
