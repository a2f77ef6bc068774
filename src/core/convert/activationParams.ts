// Int8 parameters of activation tensors, read from the QAT layers' observed (or fixed) ranges. The
// deployed grid is the one the fake-quant op trained on: asymmetricParams nudges exactly like the op
// (same scale, zero point shifted by -128), so every simulated value is representable. An LSQ
// activation deploys its learned step itself as the scale (lsqActivationParams).
import { quantizeLinear } from '../intref/arith.js';
import { asymmetricParams, nudgeRange, type QuantParams } from '../quant/params.js';
import { gridRange, lsqActivationLevels, lsqStep } from '../qat/layers/lsqActivation.js';
import type { ActivationQuantSpec, RangeVars } from '../qat/layers/ranges.js';
import { isLsq, readRange } from '../qat/layers/ranges.js';
import type { FusedActivation, QuantInfo } from './types.js';

export type ActivationParams = { quant: QuantInfo; range: [number, number] } | { problem: string };

export const INT8_ACTIVATION = { qmin: -128, qmax: 127 } as const;

/** Parameters for a range the layer observed (or the op fixed); a reason instead when there are none. */
export function activationParams(vars: RangeVars | null, spec: ActivationQuantSpec, what = 'output'): ActivationParams {
  if (spec.bits !== 8) return { problem: `${what} uses ${spec.bits}-bit activations; int8 conversion needs 8` };
  if (isLsq(spec)) return lsqActivationParams(vars, spec, what);
  let lo: number;
  let hi: number;
  if (spec.fixed) {
    [lo, hi] = spec.fixed;
  } else {
    // Unobserved ranges leave the simulation in float (quantizeActivation), so there is nothing to deploy.
    if (!vars || vars.seen.read().dataSync()[0] === 0) {
      return { problem: `${what} range was never observed (train or calibrate the model before converting)` };
    }
    [lo, hi] = readRange(vars);
  }
  lo = Math.min(lo, 0);
  hi = Math.max(hi, 0);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return { problem: `${what} range [${lo}, ${hi}] is not finite` };
  // A collapsed range makes the simulation output constant 0; an int8 grid needs a positive scale.
  if (nudgeRange(lo, hi, 8).scale === 0) return { problem: `${what} range [${lo}, ${hi}] is degenerate (the output is constant 0)` };
  const p = asymmetricParams(lo, hi, 8);
  return { quant: perTensor(p), range: [lo, hi] };
}

/**
 * An LSQ grid [Qn, Qp]·s deployed as is: scale = s (the step the simulation used, read directly, not
 * re-derived from the mirrored min/max, which float32 rounding could move by an ulp), zero point 0 for
 * the signed grid [-128, 127] and -128 for the unsigned [0, 255]. Every simulated value is then exactly
 * (q - zp)·s for an int8 q.
 */
function lsqActivationParams(vars: RangeVars | null, spec: ActivationQuantSpec, what: string): ActivationParams {
  let step: number | null;
  try {
    step = vars ? lsqStep(vars, spec, what) : null;
  } catch (err) {
    return { problem: (err as Error).message };
  }
  if (step === null) return { problem: `${what} step was never initialised (train or calibrate the model before converting)` };
  const { qn } = lsqActivationLevels(spec);
  const zeroPoint = INT8_ACTIVATION.qmin - qn; // -128 - 0 unsigned, -128 - (-128) signed
  return { quant: perTensor({ scale: step, zeroPoint, ...INT8_ACTIVATION }), range: gridRange(step, spec) };
}

export function perTensor(p: QuantParams): QuantInfo {
  return { scale: [p.scale], zeroPoint: [p.zeroPoint], axis: null, qmin: p.qmin, qmax: p.qmax };
}

export function paramsOf(q: QuantInfo): QuantParams {
  if (q.axis !== null || q.scale.length !== 1) throw new Error('internal: expected per-tensor parameters');
  return { scale: q.scale[0]!, zeroPoint: q.zeroPoint[0]!, qmin: q.qmin, qmax: q.qmax };
}

export const FUSABLE_ACTIVATIONS: readonly FusedActivation[] = ['linear', 'relu', 'relu6'];

export function isFusable(name: string): name is FusedActivation {
  return (FUSABLE_ACTIVATIONS as readonly string[]).includes(name);
}

/**
 * The fused activation as a saturation range of the output: relu(z) quantized = max(q(z), q(0)) and
 * min(z, 6) quantized = min(q(z), q(6)) because quantization is monotone, so a clamp after
 * requantization is exact.
 */
export function fusedClamp(activation: FusedActivation, out: QuantInfo): [number, number] {
  const p = paramsOf(out);
  const q = (v: number) => quantizeLinear(v, p.scale, p.zeroPoint, p.qmin, p.qmax);
  const lo = activation === 'linear' ? p.qmin : q(0);
  const hi = activation === 'relu6' ? q(6) : p.qmax;
  return [lo, hi];
}
