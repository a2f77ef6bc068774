// Post-training calibrators against an independent NumPy implementation (scripts/golden/observers.py):
// min/max and moving average exactly, percentiles within one histogram bin of NumPy's exact
// percentile, MSE ranges among NumPy's brute-force best candidates. The data come from a shared tiny
// generator (xorshift32 + arithmetic only), reproduced here bit for bit.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createCalibrator, type CalibratorOptions } from '../../../src/core/quant/observers/index.js';
import { nudgeRange } from '../../../src/core/quant/params.js';

interface Spec {
  seed: number;
  n: number;
  kind: 'normal' | 'heavy';
  mu: number;
  sigma: number;
}
interface Ranges {
  min: number[];
  max: number[];
}
interface MseCase {
  name: string;
  symmetric: boolean;
  bits: number;
  include_zero: boolean;
  narrow_range: boolean;
  channels: { candidates: [number, number][]; best_error: number }[];
  counts0: { index: number[]; count: number[] };
}
const golden = JSON.parse(readFileSync(new URL('../../fixtures/golden/observers.json', import.meta.url), 'utf8')) as {
  data_checks: { spec: Spec; sum: number; first: number[] }[];
  running: { batches: Spec[]; shape: number[]; cases: (Ranges & { kind: 'minmax' | 'ema'; symmetric: boolean; decay: number | null })[] };
  percentile: { batches: Spec[]; cases: (Ranges & { percentile: number; symmetric: boolean })[] };
  percentile_per_channel: { batches: Spec[]; scale: number[]; cases: (Ranges & { percentile: number; symmetric: boolean })[] };
  mse: {
    weights: { normal: Spec; heavy: Spec; scale: number[]; heavy_scale: number };
    relu: { base: Spec; tail: Spec; every: number };
    shifted: Spec;
    cases: MseCase[];
  };
};

function uniforms(seed: number, n: number): Float64Array {
  const out = new Float64Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    out[i] = x / 4294967296;
  }
  return out;
}

function gen(s: Spec): Float32Array {
  const out = new Float32Array(s.n);
  const u = uniforms(s.seed, s.kind === 'normal' ? 4 * s.n : 2 * s.n);
  for (let i = 0; i < s.n; i++) {
    const z = s.kind === 'normal' ? (u[4 * i]! + u[4 * i + 1]! + u[4 * i + 2]! + u[4 * i + 3]! - 2) * 1.7320508075688772 : (u[2 * i]! - 0.5) / (u[2 * i + 1]! + 0.02);
    out[i] = s.mu + s.sigma * z;
  }
  return out;
}

const concat = (parts: Float32Array[]) => {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
};

/** Real quantize-dequantize MSE of `x` on the grid a range gives (symmetric: narrow [-t, t]). */
function realMse(x: Float32Array, min: number, max: number, bits: number, symmetric: boolean, narrow: boolean): number {
  const n = symmetric ? nudgeRange(min, max, bits, true) : nudgeRange(Math.min(min, 0), Math.max(max, 0), bits, narrow);
  let err = 0;
  for (const v of x) {
    const c = Math.min(Math.max(v, n.nudgedMin), n.nudgedMax);
    const d = v - (Math.floor((c - n.nudgedMin) / n.scale + 0.5) + n.qmin - n.zeroPoint) * n.scale;
    err += d * d;
  }
  return err / x.length;
}

describe('shared data generator', () => {
  it('reproduces the NumPy data bit for bit', () => {
    for (const c of golden.data_checks) {
      const x = gen(c.spec);
      expect(Array.from(x.slice(0, 3))).toEqual(c.first);
      expect(x.reduce((a, b) => a + b, 0)).toBeCloseTo(c.sum, 6);
    }
  });
});

describe('min/max and moving-average calibrators', () => {
  const batches = golden.running.batches.map(gen);
  it.each(golden.running.cases.map((c) => [`${c.kind}${c.symmetric ? ' symmetric' : ''} decay ${c.decay ?? 'default'}`, c] as const))('%s, per channel', (_n, c) => {
    const cal = createCalibrator(c.kind, { name: 'act', channels: 3, symmetric: c.symmetric, ...(c.decay === null ? {} : { decay: c.decay }) });
    for (const b of batches) cal.observe(b, golden.running.shape);
    // Same float64 expressions as NumPy: equal to the last bit.
    expect(cal.range()).toEqual({ min: c.min, max: c.max });
    expect(cal.batches).toBe(3);
  });

  it('per-tensor min/max is the running extreme; includeZero widens the result only', () => {
    const cal = createCalibrator('minmax', { name: 'act', includeZero: true });
    cal.observe(new Float32Array([1, 2]), [2]);
    cal.observe(new Float32Array([3, 1.5]), [1, 2]);
    expect(cal.range()).toEqual({ min: [0], max: [3] });
  });
});

describe('percentile calibrator', () => {
  const batches = golden.percentile.batches.map(gen);
  it.each(golden.percentile.cases.map((c) => [`${c.percentile}%${c.symmetric ? ' symmetric' : ''}`, c] as const))('%s is within one bin of NumPy', (_n, c) => {
    const cal = createCalibrator('percentile', { name: 'act', percentile: c.percentile, symmetric: c.symmetric });
    for (const b of batches) cal.observe(b, [b.length]);
    const h = cal.histogram()!;
    // Every rank's estimate lies in the bin that holds the true order statistic (quantile.ts).
    const bin = h.width / h.counts.length;
    const r = cal.range();
    expect(Math.abs(r.min[0]! - c.min[0]!)).toBeLessThan(bin);
    expect(Math.abs(r.max[0]! - c.max[0]!)).toBeLessThan(bin);
    // The batches grew the range; growth keeps the width under about twice the data range (histogram.ts).
    expect(h.width).toBeGreaterThan(h.max - h.min);
    expect(h.width).toBeLessThan((2 * (h.max - h.min)) / (1 - 2 / h.counts.length));
    expect(h.total).toBe(4 * 40000);
  });

  it('per channel (scales 0.1, 1, 10, each widened by the second batch) is within one bin of NumPy', () => {
    const { scale } = golden.percentile_per_channel;
    const batches = golden.percentile_per_channel.batches.map((s) => gen(s).map((v, i) => Math.fround(v * scale[i % 3]!)));
    for (const c of golden.percentile_per_channel.cases) {
      const cal = createCalibrator('percentile', { name: 'conv/out', channels: 3, percentile: c.percentile });
      for (const b of batches) cal.observe(b, [b.length / 3, 3]);
      const r = cal.range();
      for (let ch = 0; ch < 3; ch++) {
        const h = cal.histogram(ch)!;
        const bin = h.width / h.counts.length;
        expect(Math.abs(r.min[ch]! - c.min[ch]!)).toBeLessThan(bin);
        expect(Math.abs(r.max[ch]! - c.max[ch]!)).toBeLessThan(bin);
      }
    }
  });

  it('re-binning on growth is exact: the counts equal binning all the data afresh on the final bins', () => {
    const cal = createCalibrator('percentile', { name: 'act', bins: 256 });
    for (const b of batches) cal.observe(b, [b.length]);
    const h = cal.histogram()!;
    const fresh = new Float64Array(256);
    for (const v of concat(batches)) fresh[Math.min(255, Math.max(0, Math.floor((v - h.lo) * (256 / h.width))))]! += 1;
    expect(Array.from(h.counts)).toEqual(Array.from(fresh));
  });
});

describe('MSE calibrator', () => {
  const { weights, relu } = golden.mse;
  const w = (() => {
    const norm = gen(weights.normal);
    const heavy = gen(weights.heavy);
    return norm.map((v, i) => (i % 4 === 3 ? Math.fround(heavy[(i - 3) / 4]! * weights.heavy_scale) : Math.fround(v * weights.scale[i % 4]!)));
  })();
  const act = (() => {
    const x = gen(relu.base).map((v) => Math.max(v, 0));
    const tail = gen({ ...relu.tail });
    for (let i = 0, j = 0; i < x.length; i += relu.every, j++) x[i] = Math.abs(tail[j]!);
    return x;
  })();
  const shifted = gen(golden.mse.shifted);
  /** Splits x into about `parts` batches of whole rows (the histogram then grows as it goes). */
  function batchesOf(x: Float32Array, channels: number, parts: number): Float32Array[] {
    const rows = x.length / channels;
    const size = Math.ceil(rows / parts) * channels;
    const out: Float32Array[] = [];
    for (let at = 0; at < x.length; at += size) out.push(x.slice(at, at + size));
    return out;
  }
  const data: Record<string, [Float32Array, number]> = {
    'symmetric per-channel weights, 8-bit': [w, 4],
    'symmetric per-channel weights, 4-bit': [w, 4],
    'ReLU activations, 8-bit, includeZero': [act, 1],
    'shifted heavy tails, 4-bit narrow': [shifted, 1],
  };

  it.each(golden.mse.cases.map((c) => [c.name, c] as const))('%s: a best candidate of the brute-force search', (_n, c) => {
    const [x, channels] = data[c.name]!;
    const opts: CalibratorOptions = { name: 'x', bits: c.bits, symmetric: c.symmetric, includeZero: c.include_zero, narrowRange: c.narrow_range };
    const cal = createCalibrator('mse', channels > 1 ? { ...opts, channels } : opts);
    // One batch: NumPy's histogram spans [min, max] of all the data; ours then has the same bins.
    cal.observe(x, channels > 1 ? [x.length / channels, channels] : [x.length]);
    const counts = cal.histogram(0)!.counts;
    const nz = Array.from(counts.keys()).filter((i) => counts[i]! > 0);
    expect(nz).toEqual(c.counts0.index);
    expect(nz.map((i) => counts[i])).toEqual(c.counts0.count);
    const r = cal.range();
    c.channels.forEach((ch, k) => {
      const got = [r.min[k]!, r.max[k]!];
      // range() widens to contain 0 when asked; NumPy lists the candidates before widening.
      const widen = ([lo, hi]: [number, number]) => (c.include_zero ? [Math.min(lo, 0), Math.max(hi, 0)] : [lo, hi]);
      const match = ch.candidates.some((cand) => widen(cand)[0] === got[0] && widen(cand)[1] === got[1]);
      expect(match, `channel ${k}: [${got}] not among ${JSON.stringify(ch.candidates.slice(0, 4))}`).toBe(true);
    });
  });

  it('its range beats min/max on the real data, clipping heavy tails at 4 bits', () => {
    const x = new Float32Array(w.filter((_, i) => i % 4 === 3)); // heavy-tailed channel
    const mse = createCalibrator('mse', { name: 'w', bits: 4, symmetric: true });
    const mm = createCalibrator('minmax', { name: 'w', symmetric: true });
    for (const part of batchesOf(x, 1, 4)) {
      mse.observe(part, [part.length]);
      mm.observe(part, [part.length]);
    }
    const [a, b] = [mse.range(), mm.range()];
    expect(a.max[0]!).toBeLessThan(0.8 * b.max[0]!);
    expect(realMse(x, a.min[0]!, a.max[0]!, 4, true, true)).toBeLessThan(0.8 * realMse(x, b.min[0]!, b.max[0]!, 4, true, true));
  });
});

describe('calibrator edge cases', () => {
  const kinds = ['minmax', 'ema', 'percentile', 'mse'] as const;

  it.each(kinds)('%s: constant and all-zero tensors give the exact degenerate range', (kind) => {
    const constant = createCalibrator(kind, { name: 'c' });
    constant.observe(new Float32Array(1000).fill(-2.5), [1000]);
    constant.observe(new Float32Array(10).fill(-2.5), [10]);
    expect(constant.range()).toEqual({ min: [-2.5], max: [-2.5] });
    const sym = createCalibrator(kind, { name: 'c', symmetric: true, includeZero: true });
    sym.observe(new Float32Array(100).fill(-2.5), [100]);
    expect(sym.range()).toEqual({ min: [-2.5], max: [2.5] });
    const zeros = createCalibrator(kind, { name: 'z', channels: 2, includeZero: true });
    zeros.observe(new Float32Array(8), [4, 2]);
    expect(zeros.range()).toEqual({ min: [0, 0], max: [0, 0] });
  });

  it('a constant start grows into a histogram with the point mass kept', () => {
    const cal = createCalibrator('percentile', { name: 'c', percentile: 100 });
    cal.observe(new Float32Array(10).fill(2), [10]);
    cal.observe(new Float32Array([0, 4]), [2]);
    expect(cal.range()).toEqual({ min: [0], max: [4] });
    const h = cal.histogram()!;
    expect(h.total).toBe(12);
    expect(h.counts[Math.floor((2 - h.lo) * (h.counts.length / h.width))]).toBe(10);
  });

  it.each(kinds)('%s: NaN and Inf are errors naming the tensor, the batch and the index', (kind) => {
    const cal = createCalibrator(kind, { name: 'conv1/out' });
    cal.observe(new Float32Array([1, 2]), [2]);
    expect(() => cal.observe(new Float32Array([1, Number.NaN]), [2])).toThrow(/conv1\/out: batch 2 has NaN at flat index 1/);
    expect(() => cal.observe(new Float32Array([Number.NEGATIVE_INFINITY]), [1])).toThrow(/conv1\/out: batch 2 has -Infinity at flat index 0/);
    expect(cal.range().max[0]).toBeCloseTo(2, 3); // the bad batches left no trace
    expect(cal.batches).toBe(1);
  });

  it('refuses to answer before data, ignores empty batches, checks shapes and options', () => {
    const cal = createCalibrator('mse', { name: 'x', channels: 3, axis: 1 });
    cal.observe(new Float32Array(0), [0, 3]);
    expect(() => cal.range()).toThrow(/x: no values observed yet/);
    expect(() => cal.observe(new Float32Array(6), [3, 2])).toThrow(/x: calibrates 3 channels but axis 1 of shape \[3,2\] has 2/);
    expect(() => cal.observe(new Float32Array(5), [2, 3])).toThrow(/shape \[2,3\] does not describe 5 values/);
    expect(() => createCalibrator('percentile', { name: 'x', percentile: 0 })).toThrow(/percentile must be in \(0, 100\]/);
    expect(() => createCalibrator('minmax', { name: 'x', decay: 0.9 })).toThrow(/applies to 'ema' only/);
    expect(() => createCalibrator('mse', { name: 'x', bits: 1 })).toThrow(/bits must be an integer in \[2, 16\]/);
  });

  it('handles a large batch in one pass per kind (4M values)', () => {
    const x = gen({ seed: 7, n: 1 << 22, kind: 'heavy', mu: 0, sigma: 1 });
    for (const kind of kinds) {
      const t0 = performance.now();
      const cal = createCalibrator(kind, { name: 'big', bits: kind === 'mse' ? 8 : undefined });
      cal.observe(x, [1024, 4096]);
      const r = cal.range();
      expect(r.min[0]!).toBeLessThan(r.max[0]!);
      expect(performance.now() - t0).toBeLessThan(2000);
    }
  });
});
