// The runtime's integer arithmetic, one definition shared by the integer reference and the converter:
// float32 requantization multipliers, round half to even (ONNX QuantizeLinear / MLAS requantize,
// PyTorch), saturation. Every float operation is rounded to float32 (Math.fround) where the runtime
// computes in float32, so ties land where the runtime's land.

/** Round half to even; exact for |v| < 2^31 (larger values are saturated by every caller anyway). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v); // ties go up
  return r - v === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/** M = fround(fround(inputScale * weightScale) / outputScale): QLinearConv's per-channel multiplier. */
export function requantMultiplier(inputScale: number, weightScale: number, outputScale: number): number {
  return Math.fround(Math.fround(inputScale * weightScale) / outputScale);
}

/** fround(a / b): the multiplier of an op that rescales one activation grid to another. */
export function rescaleMultiplier(inputScale: number, outputScale: number): number {
  return Math.fround(inputScale / outputScale);
}

/**
 * An int32 accumulator to the output grid: fround(fround(acc) * M), round half to even, + zero point,
 * saturate to [lo, hi] (the int8 range or a fused activation's clamp).
 */
export function requantize(acc: number, multiplier: number, zeroPoint: number, lo: number, hi: number): number {
  const q = roundHalfEven(Math.fround(Math.fround(acc) * multiplier)) + zeroPoint;
  return q < lo ? lo : q > hi ? hi : q;
}

/** QuantizeLinear: saturate(roundHalfEven(fround(x / scale)) + zeroPoint). */
export function quantizeLinear(x: number, scale: number, zeroPoint: number, lo: number, hi: number): number {
  const q = roundHalfEven(Math.fround(x / scale)) + zeroPoint;
  return q < lo ? lo : q > hi ? hi : q;
}

/** DequantizeLinear: fround((q - zeroPoint) * scale). */
export function dequantizeLinear(q: number, scale: number, zeroPoint: number): number {
  return Math.fround((q - zeroPoint) * scale);
}
