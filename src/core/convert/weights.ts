// Int8 weights and int32 biases of a QatLinear layer, from the same folded float32 values the QAT
// forward pass fake-quantizes, so the deployed integers are exactly the ones the model trained with.
import * as tf from '../tf.js';
import { fakeQuantForward, nudgeAll } from '../quant/fakeQuantMath.js';
import { effectiveSteps, lsqLevels } from '../quant/lsqMath.js';
import { roundHalfEven } from '../quant/params.js';
import type { QatLinear } from '../qat/layers/qatLinear.js';
import { weightAbsMax } from '../qat/layers/weights.js';

export interface FoldedWeights {
  /** dense [cin, cout]; conv2d [kh, kw, cin, cout]; depthwise/separable depthwise part [kh, kw, cin * mult]. */
  kernel: tf.Tensor;
  /** separable only: [1, 1, cin * mult, cout]. */
  pointwise: tf.Tensor | null;
  /** Folded bias [cout] (null: the layer has neither bias nor BN). */
  bias: tf.Tensor | null;
}

/**
 * BN folding with the very ops QatLinear uses (same float32 rounding): sf = gamma / sqrt(var + eps),
 * weights * sf per output channel (for separable, the pointwise conv), bias' = beta + (bias - mean) * sf.
 * Caller disposes (run inside tf.tidy).
 */
export function foldedWeights(layer: QatLinear): FoldedWeights {
  const a = layer.args;
  const w = layer.weightsByRole();
  const sf = a.batchNorm ? tf.div(w.gamma!.read(), tf.sqrt(tf.add(w.movingVariance!.read(), a.batchNorm.epsilon))) : null;
  const k = w.kernel.read();
  let kernel: tf.Tensor;
  let pointwise: tf.Tensor | null = null;
  if (a.kind === 'dense' || a.kind === 'conv2d') {
    kernel = sf ? tf.mul(k, sf) : k;
  } else {
    const [kh, kw, cin, mult] = k.shape as [number, number, number, number];
    const dw = a.kind === 'depthwise' && sf ? tf.mul(k, tf.reshape(sf, [cin, mult])) : k;
    kernel = tf.reshape(dw, [kh, kw, cin * mult]);
    if (a.kind === 'separable') {
      const pw = w.pointwise!.read();
      pointwise = sf ? tf.mul(pw, sf) : pw;
    }
  }
  let bias: tf.Tensor | null = w.bias ? w.bias.read() : null;
  if (sf) {
    const centred = bias ? tf.sub(bias, w.movingMean!.read()) : tf.neg(w.movingMean!.read());
    bias = tf.add(w.beta!.read(), tf.mul(centred, sf));
  }
  return { kernel, pointwise, bias };
}

export interface Int8Weights {
  data: Int8Array;
  shape: number[];
  /** Per output channel (last axis) or a single per-tensor scale; float32 values. */
  scales: number[];
  perChannel: boolean;
  /** [-(2^(bits-1) - 1), 2^(bits-1) - 1]. */
  qmax: number;
}

/**
 * Symmetric narrow-range quantization of folded weights along their last axis (or per tensor), exactly as
 * the training op did it: TF's nudged range ±max|w_c| and its round-half-up, read back as integers.
 * A channel of zeros has scale 0 in the op; it is stored with scale 1 (all its integers are 0), as
 * symmetricParams does, so bias scales stay positive.
 */
export function quantizeWeights(w: tf.Tensor, perChannel: boolean, bits: number, label: string): Int8Weights {
  const absMax = weightAbsMax(w, perChannel ? w.rank - 1 : null);
  const hi = absMax.dataSync() as Float32Array;
  absMax.dispose();
  const ranges = nudgeAll(Array.from(hi, (v) => -v), hi, { bits, narrowRange: true }, label);
  const values = w.dataSync() as Float32Array;
  const dequantized = new Float32Array(values.length);
  const channels = ranges.length;
  fakeQuantForward(values, ranges, { channels, inner: perChannel ? 1 : values.length }, dequantized, label);
  const qmax = 2 ** (bits - 1) - 1;
  const data = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const s = ranges[perChannel ? i % channels : 0]!.scale;
    if (s === 0) continue;
    // The op's output is (integer) * scale rounded to float32: dividing recovers the integer to ~1e-7.
    const q = Math.round(dequantized[i]! / s);
    if (Math.abs(dequantized[i]! / s - q) > 1e-3 || Math.abs(q) > qmax) throw new Error(`internal: ${label}: ${dequantized[i]} is not on the int grid of scale ${s}`);
    data[i] = q;
  }
  return { data, shape: [...w.shape], scales: ranges.map((r) => (r.scale > 0 ? r.scale : 1)), perChannel, qmax };
}

/**
 * LSQ weights on their learned steps (`steps`: one per output channel on the last axis, or one):
 * q = clamp(floor(w/s + 0.5), -qmax, qmax) with s = max(step, LSQ_MIN_STEP), w/s in double — the very
 * arithmetic of the training op (lsqMath.ts lsqForward) — and scale = s, zero point 0.
 */
export function quantizeWeightsLsq(w: tf.Tensor, steps: ArrayLike<number>, perChannel: boolean, bits: number, label: string): Int8Weights {
  const channels = perChannel ? w.shape[w.rank - 1]! : 1;
  if (steps.length !== channels) throw new Error(`internal: ${label}: ${steps.length} LSQ steps for ${channels} channel(s)`);
  const s = effectiveSteps(steps, label);
  const { qn, qp } = lsqLevels(bits, true, true);
  const values = w.dataSync() as Float32Array;
  const data = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const q = Math.floor(values[i]! / s[perChannel ? i % channels : 0]! + 0.5);
    data[i] = q < qn ? qn : q > qp ? qp : q;
  }
  return { data, shape: [...w.shape], scales: Array.from(s), perChannel, qmax: qp };
}

export interface Int32Bias {
  data: Int32Array;
  /** fround(inputScale * weightScale[c]); one entry when the weights are per tensor. */
  scales: number[];
}

const INT32_MAX = 2 ** 31 - 1;

/** bias_q[c] = roundHalfEven(bias[c] / (inputScale * weightScale[c])), zero point 0 (DESIGN.md §3). */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: number[], label: string): Int32Bias {
  const scales = weightScales.map((s) => Math.fround(inputScale * s));
  const data = new Int32Array(bias.length);
  for (let c = 0; c < bias.length; c++) {
    const s = scales[scales.length === 1 ? 0 : c]!;
    const q = roundHalfEven(bias[c]! / s);
    if (!(Math.abs(q) <= INT32_MAX)) throw new RangeError(`${label}: bias ${bias[c]} / scale ${s} does not fit in int32`);
    data[c] = q;
  }
  return { data, scales };
}
