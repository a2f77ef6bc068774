// Integer dense / conv2d / depthwise: int8 inputs minus their zero point, int32 accumulation, int32 bias,
// per-channel float32 requantization (arith.requantize), saturation to the fused activation's clamp.
// Weights are re-laid out once per model for contiguous inner loops.
//
// The integers are held in Float64Arrays: V8 multiplies doubles several times faster than it does int32
// with overflow checks, and every product (|x - zx| <= 255, |w| <= 127) and sum (< 2^53) is exact, so
// `acc | 0` at the end is exactly the wrapped int32 accumulator a runtime would hold.
import { requantize } from '../arith.js';

export interface Requant {
  /** Per output channel: fround(fround(sx * sw[c]) / sy). */
  multipliers: Float32Array;
  bias: Int32Array;
  zIn: number;
  zOut: number;
  lo: number;
  hi: number;
}


export interface DensePlan extends Requant {
  cin: number;
  cout: number;
  /** [cout][cin]: the Keras [cin, cout] kernel transposed so each output is one contiguous dot product. */
  weights: Float64Array;
}

export function denseInt(x: Int8Array, rows: number, p: DensePlan): Int8Array {
  const { cin, cout, weights, bias, multipliers, zIn, zOut, lo, hi } = p;
  const out = new Int8Array(rows * cout);
  const xr = new Float64Array(cin);
  for (let r = 0; r < rows; r++) {
    const xo = r * cin;
    for (let k = 0; k < cin; k++) xr[k] = x[xo + k]! - zIn;
    for (let o = 0; o < cout; o++) {
      let acc = bias[o]!;
      const wo = o * cin;
      for (let k = 0; k < cin; k++) acc += xr[k]! * weights[wo + k]!;
      out[r * cout + o] = requantize(acc | 0, multipliers[o]!, zOut, lo, hi);
    }
  }
  return out;
}

export interface ConvGeometryPlan {
  inH: number;
  inW: number;
  cin: number;
  outH: number;
  outW: number;
  cout: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  padTop: number;
  padLeft: number;
}

export interface ConvPlan extends Requant, ConvGeometryPlan {
  /** [cout][kh][kw][cin]: OHWI, so a gathered input patch (kh·kw·cin, channels innermost) is one dot product per output channel. */
  weights: Float64Array;
}

/**
 * im2col one output pixel at a time: gather the zero-point-corrected patch (0 in the padding; a whole
 * kernel row is one contiguous NHWC run when it lies inside the image), then dot it with every filter,
 * four filters per pass over the patch.
 */
export function conv2dInt(x: Int8Array, batch: number, p: ConvPlan): Int8Array {
  const { inH, inW, cin, outH, outW, cout, kh, kw, sh, sw, dh, dw, padTop, padLeft, weights, bias, multipliers, zIn, zOut, lo, hi } = p;
  const K = kh * kw * cin;
  const rowLen = kw * cin;
  const cout4 = cout - (cout % 4);
  const patch = new Float64Array(K);
  const out = new Int8Array(batch * outH * outW * cout);
  let o = 0;
  for (let n = 0; n < batch; n++) {
    const xn = n * inH * inW * cin;
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        const iw0 = ow * sw - padLeft;
        const fullRow = dw === 1 && iw0 >= 0 && iw0 + kw <= inW;
        for (let ky = 0; ky < kh; ky++) {
          const ih = oh * sh - padTop + ky * dh;
          let k = ky * rowLen;
          if (ih < 0 || ih >= inH) {
            patch.fill(0, k, k + rowLen);
          } else if (fullRow) {
            const base = xn + (ih * inW + iw0) * cin;
            for (let j = 0; j < rowLen; j++) patch[k + j] = x[base + j]! - zIn;
          } else {
            for (let kx = 0; kx < kw; kx++) {
              const iw = iw0 + kx * dw;
              if (iw < 0 || iw >= inW) {
                for (let c = 0; c < cin; c++) patch[k++] = 0;
              } else {
                const base = xn + (ih * inW + iw) * cin;
                for (let c = 0; c < cin; c++) patch[k++] = x[base + c]! - zIn;
              }
            }
          }
        }
        let oc = 0;
        for (; oc < cout4; oc += 4) {
          let a0 = bias[oc]!;
          let a1 = bias[oc + 1]!;
          let a2 = bias[oc + 2]!;
          let a3 = bias[oc + 3]!;
          const w0 = oc * K;
          const w1 = w0 + K;
          const w2 = w1 + K;
          const w3 = w2 + K;
          for (let j = 0; j < K; j++) {
            const v = patch[j]!;
            a0 += v * weights[w0 + j]!;
            a1 += v * weights[w1 + j]!;
            a2 += v * weights[w2 + j]!;
            a3 += v * weights[w3 + j]!;
          }
          out[o++] = requantize(a0 | 0, multipliers[oc]!, zOut, lo, hi);
          out[o++] = requantize(a1 | 0, multipliers[oc + 1]!, zOut, lo, hi);
          out[o++] = requantize(a2 | 0, multipliers[oc + 2]!, zOut, lo, hi);
          out[o++] = requantize(a3 | 0, multipliers[oc + 3]!, zOut, lo, hi);
        }
        for (; oc < cout; oc++) {
          let acc = bias[oc]!;
          const wo = oc * K;
          for (let j = 0; j < K; j++) acc += patch[j]! * weights[wo + j]!;
          out[o++] = requantize(acc | 0, multipliers[oc]!, zOut, lo, hi);
        }
      }
    }
  }
  return out;
}

export interface DepthwisePlan extends Requant, ConvGeometryPlan {
  /** [kh][kw][cout] with cout = cin · multiplier (the IntModel layout as is). */
  weights: Float64Array;
  multiplier: number;
}

/** Output channel c reads input channel floor(c / multiplier); one int32 accumulator per channel of the pixel. */
export function depthwiseInt(x: Int8Array, batch: number, p: DepthwisePlan): Int8Array {
  const { inH, inW, cin, outH, outW, cout, kh, kw, sh, sw, dh, dw, padTop, padLeft, weights, bias, multipliers, zIn, zOut, lo, hi, multiplier } = p;
  const acc = new Float64Array(cout);
  const out = new Int8Array(batch * outH * outW * cout);
  let o = 0;
  for (let n = 0; n < batch; n++) {
    const xn = n * inH * inW * cin;
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        acc.set(bias);
        for (let ky = 0; ky < kh; ky++) {
          const ih = oh * sh - padTop + ky * dh;
          if (ih < 0 || ih >= inH) continue;
          for (let kx = 0; kx < kw; kx++) {
            const iw = ow * sw - padLeft + kx * dw;
            if (iw < 0 || iw >= inW) continue;
            const base = xn + (ih * inW + iw) * cin;
            const wo = (ky * kw + kx) * cout;
            if (multiplier === 1) {
              for (let c = 0; c < cout; c++) acc[c] = acc[c]! + (x[base + c]! - zIn) * weights[wo + c]!;
            } else {
              for (let c = 0; c < cout; c++) acc[c] = acc[c]! + (x[base + ((c / multiplier) | 0)]! - zIn) * weights[wo + c]!;
            }
          }
        }
        for (let c = 0; c < cout; c++) out[o++] = requantize(acc[c]! | 0, multipliers[c]!, zOut, lo, hi);
      }
    }
  }
  return out;
}
