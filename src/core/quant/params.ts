// Quantization parameters from a float range, exactly as DESIGN.md §3 fixes them.
//
// Two families:
// - TF fake-quant ranges (`nudgeRange`): integers in [qmin, qmax] = [narrow ? 1 : 0, 2^bits - 1], with the
//   zero point rounded so that 0.0 is exactly representable ("nudging"). This is the training-time op.
// - Int8 deployment parameters (`symmetricParams`, `asymmetricParams`): the TFLite int8 spec that ONNX
//   QDQ export reproduces — signed integers, weights symmetric with zero point 0.
// Both use the affine map real = (q - zeroPoint) * scale.

export interface NudgedRange {
  qmin: number;
  qmax: number;
  scale: number;
  /** In [qmin, qmax]. */
  zeroPoint: number;
  nudgedMin: number;
  nudgedMax: number;
}

export interface QuantParams {
  scale: number;
  zeroPoint: number;
  qmin: number;
  qmax: number;
}

export function checkBits(bits: number, low = 2, high = 16): void {
  if (!Number.isInteger(bits) || bits < low || bits > high) {
    throw new RangeError(`bits must be an integer in [${low}, ${high}], got ${bits}`);
  }
}

function checkRange(min: number, max: number): void {
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    throw new RangeError(`quantization range must be finite, got [${min}, ${max}]`);
  }
  if (min > max) throw new RangeError(`quantization range is inverted: min ${min} > max ${max}`);
}

/**
 * TF's FakeQuantWithMinMaxVars nudging. Inputs and results are float32 (what tensors hold); each
 * expression is evaluated in double and rounded once, so extreme ranges such as [-3e38, 3e38] stay
 * finite where TF's float32 `max - min` overflows. A degenerate range (min = max) has scale 0: the
 * nudged range collapses to [0, 0] (it must contain 0), and the op maps every input to 0.
 */
export function nudgeRange(min: number, max: number, bits: number, narrowRange = false): NudgedRange {
  checkBits(bits);
  checkRange(min, max);
  const f = Math.fround;
  const qmin = narrowRange ? 1 : 0;
  const qmax = 2 ** bits - 1;
  const lo = f(min);
  const scale = f((f(max) - lo) / (qmax - qmin));
  if (scale === 0) {
    // TF's zero_point_from_min would be qmin - min/0: -inf for min > 0, +inf for min < 0, NaN for 0.
    return { qmin, qmax, scale: 0, zeroPoint: min < 0 ? qmax : qmin, nudgedMin: 0, nudgedMax: 0 };
  }
  const zeroPoint = clampRound(qmin - lo / scale, qmin, qmax);
  return { qmin, qmax, scale, zeroPoint, nudgedMin: f((qmin - zeroPoint) * scale), nudgedMax: f((qmax - zeroPoint) * scale) };
}

/** Round half up (TF's std::round on the non-negative values it sees here), then clamp. */
function clampRound(v: number, lo: number, hi: number): number {
  if (v <= lo) return lo;
  if (v >= hi) return hi;
  return Math.floor(v + 0.5);
}

/** Widens [min, max] to contain 0, as every activation range must (a zero-padded tensor stays exact). */
export function includeZero(min: number, max: number): [number, number] {
  return [Math.min(min, 0), Math.max(max, 0)];
}

/**
 * Signed symmetric parameters, zero point 0: int8 weights use [-127, 127] (narrow), so scale = max|w| / 127.
 * An all-zero tensor gets scale 1 rather than 0, so dequantisation and bias scales stay finite.
 */
export function symmetricParams(absMax: number, bits = 8, narrowRange = true): QuantParams {
  checkBits(bits);
  if (!Number.isFinite(absMax) || absMax < 0) throw new RangeError(`absMax must be finite and >= 0, got ${absMax}`);
  const qmax = 2 ** (bits - 1) - 1;
  const qmin = narrowRange ? -qmax : -qmax - 1;
  return { scale: absMax > 0 ? absMax / qmax : 1, zeroPoint: 0, qmin, qmax };
}

/**
 * Signed asymmetric parameters for activations (int8: [-128, 127]); the range is widened to contain 0
 * and the zero point is nudged exactly as the fake-quant op does, so the deployed model computes on the
 * same grid the training simulated.
 */
export function asymmetricParams(min: number, max: number, bits = 8): QuantParams {
  const [lo, hi] = includeZero(min, max);
  const n = nudgeRange(lo, hi, bits, false);
  const offset = 2 ** (bits - 1); // unsigned grid [0, 2^b - 1] shifted to signed [-2^(b-1), 2^(b-1) - 1]
  return { scale: n.scale > 0 ? n.scale : 1, zeroPoint: n.zeroPoint - offset, qmin: -offset, qmax: offset - 1 };
}

/** Round half to even, as ONNX QuantizeLinear and PyTorch do. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** q = clamp(roundHalfEven(x / scale) + zeroPoint, qmin, qmax): the runtime's QuantizeLinear. */
export function quantize(x: number, p: QuantParams): number {
  const q = roundHalfEven(x / p.scale) + p.zeroPoint;
  return q < p.qmin ? p.qmin : q > p.qmax ? p.qmax : q;
}

export function dequantize(q: number, p: Pick<QuantParams, 'scale' | 'zeroPoint'>): number {
  return (q - p.zeroPoint) * p.scale;
}
