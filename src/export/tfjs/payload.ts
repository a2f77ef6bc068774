// What one weight of the TF.js artifact stores, in the TF.js converter's own quantization scheme
// (tfjs-converter write_weights.py): uint8 bytes u with per-tensor `min` and `scale`, decoded by
// tf.io as u · scale + min. An int8 weight q on scale s is re-expressed exactly: u = q + 128,
// scale = s, min = -128 · s, so u · s + min = q · s (every term is exact in double precision, and
// TF.js rounds the result to float32 once — the dequantized weight fround(q · s)).
import type { IntTensor } from '../../core/convert/types.js';

export interface WeightPayload {
  /** The float32 values TF.js holds after decoding (what the in-memory model is given). */
  values: Float32Array;
  /** Present when the weight is stored as uint8 (quantized); else it is stored as float32. */
  quantized?: { bytes: Uint8Array; min: number; scale: number };
}

/** int8 values on one scale as the converter's uint8 entry. */
export function uint8Payload(q: Int8Array, scale: number): WeightPayload {
  const bytes = Uint8Array.from(q, (v) => v + 128);
  const min = -128 * scale;
  const values = Float32Array.from(bytes, (u) => u * scale + min);
  return { values, quantized: { bytes, min, scale } };
}

export function floatPayload(values: Float32Array): WeightPayload {
  return { values: Float32Array.from(values) };
}

/** An IntModel int32 bias as float32, fround(fround(q) · scale[c]): the integer reference's dequantized bias. */
export function dequantizedBias(t: IntTensor): Float32Array {
  const q = t.data as Int32Array;
  const s = t.quant!.scale;
  return Float32Array.from(q, (v, c) => Math.fround(Math.fround(v) * s[s.length === 1 ? 0 : c]!));
}
