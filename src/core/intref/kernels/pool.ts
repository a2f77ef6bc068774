// Integer pooling on NHWC int8. Max-pool compares integers (the output shares the input's grid);
// average pools sum (x - zx) over the in-bounds cells (padding excluded from the count, as TF and ONNX's
// count_include_pad = 0 do) and requantize the sum once with fround(sx / fround(sy · count)) — MLAS's
// QLinear(Global)AveragePool multiplier — rounding half to even.
import { requantize, rescaleMultiplier } from '../arith.js';

export interface PoolPlan {
  inH: number;
  inW: number;
  c: number;
  outH: number;
  outW: number;
  ph: number;
  pw: number;
  sh: number;
  sw: number;
  padTop: number;
  padLeft: number;
}

export function maxPoolInt(x: Int8Array, batch: number, p: PoolPlan): Int8Array {
  const { inH, inW, c, outH, outW, ph, pw, sh, sw, padTop, padLeft } = p;
  const out = new Int8Array(batch * outH * outW * c).fill(-128);
  for (let n = 0; n < batch; n++) {
    for (let oh = 0; oh < outH; oh++) {
      const h0 = Math.max(0, oh * sh - padTop);
      const h1 = Math.min(inH, oh * sh - padTop + ph);
      for (let ow = 0; ow < outW; ow++) {
        const w0 = Math.max(0, ow * sw - padLeft);
        const w1 = Math.min(inW, ow * sw - padLeft + pw);
        const o = ((n * outH + oh) * outW + ow) * c;
        for (let ih = h0; ih < h1; ih++) {
          for (let iw = w0; iw < w1; iw++) {
            const base = ((n * inH + ih) * inW + iw) * c;
            for (let k = 0; k < c; k++) if (x[base + k]! > out[o + k]!) out[o + k] = x[base + k]!;
          }
        }
      }
    }
  }
  return out;
}

export interface Rescale {
  sIn: number;
  zIn: number;
  sOut: number;
  zOut: number;
}

/** Multiplier of an average over `count` cells. */
export function averageMultiplier(r: Rescale, count: number): number {
  return Math.fround(r.sIn / Math.fround(r.sOut * count));
}

export function avgPoolInt(x: Int8Array, batch: number, p: PoolPlan, r: Rescale): Int8Array {
  const { inH, inW, c, outH, outW, ph, pw, sh, sw, padTop, padLeft } = p;
  const out = new Int8Array(batch * outH * outW * c);
  const acc = new Int32Array(c);
  const multipliers = new Map<number, number>();
  for (let n = 0; n < batch; n++) {
    for (let oh = 0; oh < outH; oh++) {
      const h0 = Math.max(0, oh * sh - padTop);
      const h1 = Math.min(inH, oh * sh - padTop + ph);
      for (let ow = 0; ow < outW; ow++) {
        const w0 = Math.max(0, ow * sw - padLeft);
        const w1 = Math.min(inW, ow * sw - padLeft + pw);
        const count = (h1 - h0) * (w1 - w0);
        acc.fill(0);
        for (let ih = h0; ih < h1; ih++) {
          for (let iw = w0; iw < w1; iw++) {
            const base = ((n * inH + ih) * inW + iw) * c;
            for (let k = 0; k < c; k++) acc[k] = acc[k]! + x[base + k]! - r.zIn;
          }
        }
        let m = multipliers.get(count);
        if (m === undefined) multipliers.set(count, (m = averageMultiplier(r, count)));
        const o = ((n * outH + oh) * outW + ow) * c;
        for (let k = 0; k < c; k++) out[o + k] = requantize(acc[k]!, m, r.zOut, -128, 127);
      }
    }
  }
  return out;
}

/** Over all H·W cells of each channel: average ('avg') or integer max ('max'), requantized. Output [N, C]. */
export function globalPoolInt(x: Int8Array, batch: number, hw: number, c: number, r: Rescale, kind: 'avg' | 'max'): Int8Array {
  const out = new Int8Array(batch * c);
  const acc = new Int32Array(c);
  const m = kind === 'avg' ? averageMultiplier(r, hw) : rescaleMultiplier(r.sIn, r.sOut);
  for (let n = 0; n < batch; n++) {
    if (kind === 'avg') acc.fill(0);
    else acc.fill(-128);
    for (let i = 0; i < hw; i++) {
      const base = (n * hw + i) * c;
      if (kind === 'avg') for (let k = 0; k < c; k++) acc[k] = acc[k]! + x[base + k]!;
      else for (let k = 0; k < c; k++) if (x[base + k]! > acc[k]!) acc[k] = x[base + k]!;
    }
    // Sum of (x - zx) = Σx - hw·zx; the max of x - zx is max(x) - zx.
    const offset = kind === 'avg' ? hw * r.zIn : r.zIn;
    for (let k = 0; k < c; k++) out[n * c + k] = requantize(acc[k]! - offset, m, r.zOut, -128, 127);
  }
  return out;
}
