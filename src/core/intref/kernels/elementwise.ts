// Elementwise int8 ops: merges and concatenation rescale each input to the output grid in float32
// (MLAS QLinearAdd: fround(x - zx) · fround(sx / sy), summed in float32) and round half to even once;
// activations go through their 256-entry table; softmax is computed on dequantized values.
import { dequantizeLinear, quantizeLinear, rescaleMultiplier, requantize, roundHalfEven } from '../arith.js';

export interface Grid {
  scale: number;
  zeroPoint: number;
}

export function mergeInt(xs: Int8Array[], ins: Grid[], out: Grid, kind: 'add' | 'average' | 'maximum' | 'minimum'): Int8Array {
  const n = xs[0]!.length;
  // average = add with each input rescaled by sx / (sy · count).
  const m = ins.map((g) => (kind === 'average' ? Math.fround(g.scale / Math.fround(out.scale * xs.length)) : rescaleMultiplier(g.scale, out.scale)));
  const y = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    let v = Math.fround((xs[0]![i]! - ins[0]!.zeroPoint) * m[0]!);
    for (let j = 1; j < xs.length; j++) {
      const t = Math.fround((xs[j]![i]! - ins[j]!.zeroPoint) * m[j]!);
      if (kind === 'maximum') v = t > v ? t : v;
      else if (kind === 'minimum') v = t < v ? t : v;
      else v = Math.fround(v + t);
    }
    const q = roundHalfEven(v) + out.zeroPoint;
    y[i] = q < -128 ? -128 : q > 127 ? 127 : q;
  }
  return y;
}

/**
 * Concatenation along an axis: `outer` = product of the dims before it, `inner[j]` = input j's product of
 * the dims from it on. Inputs already on the output grid are copied; others requantized.
 */
export function concatInt(xs: Int8Array[], ins: Grid[], out: Grid, outer: number, inner: number[]): Int8Array {
  const total = inner.reduce((a, b) => a + b, 0);
  const y = new Int8Array(outer * total);
  let offset = 0;
  xs.forEach((x, j) => {
    const g = ins[j]!;
    const w = inner[j]!;
    const same = g.scale === out.scale && g.zeroPoint === out.zeroPoint;
    const m = rescaleMultiplier(g.scale, out.scale);
    for (let o = 0; o < outer; o++) {
      const src = o * w;
      const dst = o * total + offset;
      if (same) y.set(x.subarray(src, src + w), dst);
      else for (let k = 0; k < w; k++) y[dst + k] = requantize(x[src + k]! - g.zeroPoint, m, out.zeroPoint, -128, 127);
    }
    offset += w;
  });
  return y;
}

/** table[q + 128]. */
export function lookupInt(x: Int8Array, table: Int8Array): Int8Array {
  const y = new Int8Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = table[x[i]! + 128]!;
  return y;
}

/** Softmax over rows of length `width` of the dequantized input (float64, max-subtracted), quantized to the output. */
export function softmaxInt(x: Int8Array, width: number, input: Grid, out: Grid): Int8Array {
  const y = new Int8Array(x.length);
  const e = new Float64Array(width);
  for (let r = 0; r < x.length; r += width) {
    let max = -Infinity;
    for (let k = 0; k < width; k++) max = Math.max(max, dequantizeLinear(x[r + k]!, input.scale, input.zeroPoint));
    let sum = 0;
    for (let k = 0; k < width; k++) sum += e[k] = Math.exp(dequantizeLinear(x[r + k]!, input.scale, input.zeroPoint) - max);
    for (let k = 0; k < width; k++) y[r + k] = quantizeLinear(Math.fround(e[k]! / sum), out.scale, out.zeroPoint, -128, 127);
  }
  return y;
}

export function quantizeInt(x: Float32Array, out: Grid): Int8Array {
  const y = new Int8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v - v !== 0) throw new RangeError(`quantize: input has ${v} at flat index ${i}`);
    y[i] = quantizeLinear(v, out.scale, out.zeroPoint, -128, 127);
  }
  return y;
}

export function dequantizeInt(x: Int8Array, input: Grid): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = dequantizeLinear(x[i]!, input.scale, input.zeroPoint);
  return y;
}
