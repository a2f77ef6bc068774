// LSQ activation quantization (Esser et al. 2019; DESIGN.md §3 "Learned ranges"): one trainable scalar
// step per activation tensor, on an unsigned grid [0, Qp]·s after relu/relu6 and a signed full grid
// [-(Qp+1), Qp]·s otherwise (Qp = 2^(b-1) - 1 signed, 2^b - 1 unsigned). Both map onto the int8
// activation grid with scale = step: zero point -128 (unsigned) or 0 (signed).
//
// The `seen` variable has three states here, so that a range written from outside (post-training
// calibration, which knows only min/max) is honoured:
//   0: nothing yet; the activation stays float (as an unobserved EMA range does).
//   1: min/max were set from outside; the step is derived from them at next use (stepFromRange).
//   2: the step is live (initialised from the first training batch, or adopted from the range);
//      min/max mirror the grid's ends [Qn·s, Qp·s], refreshed on every training forward.
// Conversion reads the step itself (lsqStep), never the mirrored range: fround(Qp·s)/Qp need not give
// s back in float32.
import type { LayerVariable } from '@tensorflow/tfjs-layers';
import * as tf from '../../tf.js';
import { LSQ_MIN_STEP, lsqInitialStep, lsqQuantize } from '../../quant/lsq.js';
import { effectiveSteps, lsqLevels } from '../../quant/lsqMath.js';
import type { ActivationQuantSpec, QatModeFlags, RangeVars } from './rangeTypes.js';

export const SEEN_NONE = 0;
export const SEEN_RANGE = 1;
export const SEEN_STEP = 2;

/** Integer levels of the spec's grid. */
export function lsqActivationLevels(spec: ActivationQuantSpec): { qn: number; qp: number } {
  return lsqLevels(spec.bits, spec.signed ?? true, false);
}

/** The grid's float ends [Qn·s, Qp·s] (float32), i.e. the range min/max mirror. */
export function gridRange(step: number, spec: ActivationQuantSpec): [number, number] {
  const { qn, qp } = lsqActivationLevels(spec);
  // qn·s is -0 for an unsigned grid: store +0.
  return [qn === 0 ? 0 : Math.fround(qn * step), Math.fround(qp * step)];
}

/**
 * The smallest step whose grid covers [min, max] widened to contain 0: max/Qp unsigned,
 * max(max/Qp, -min/(Qp+1)) signed (float32). A negative min cannot be represented on an unsigned
 * grid and is clipped, as the relu before it would.
 */
export function stepFromRange(min: number, max: number, spec: ActivationQuantSpec): number {
  const { qn, qp } = lsqActivationLevels(spec);
  const hi = Math.max(max, 0);
  const lo = Math.min(min, 0);
  const s = qn === 0 ? hi / qp : Math.max(hi / qp, lo / qn);
  return Math.fround(s);
}

const scalar = (v: LayerVariable) => v.read().dataSync()[0]!;

/**
 * The step the simulation quantizes with (after LSQ_MIN_STEP clamping), or null while there is none
 * (seen = 0). For seen = 1 (range set from outside, not yet adopted) it is the step derived from the
 * range, exactly what the next forward will adopt. Throws on a non-finite step.
 */
export function lsqStep(r: RangeVars, spec: ActivationQuantSpec, what: string): number | null {
  const seen = scalar(r.seen);
  if (seen === SEEN_NONE) return null;
  const raw = seen === SEEN_RANGE ? stepFromRange(scalar(r.min), scalar(r.max), spec) : scalar(stepVar(r));
  return effectiveSteps([raw], what)[0]!;
}

function stepVar(r: RangeVars): LayerVariable {
  if (!r.step) throw new Error(`internal: ${r.min.name}: LSQ range without a step variable`);
  return r.step;
}

function writeStep(r: RangeVars, step: tf.Tensor, spec: ActivationQuantSpec): void {
  stepVar(r).write(step);
  r.seen.write(tf.scalar(SEEN_STEP));
  mirror(r, step.dataSync()[0]!, spec);
}

function mirror(r: RangeVars, step: number, spec: ActivationQuantSpec): void {
  const [lo, hi] = gridRange(Math.max(step, LSQ_MIN_STEP), spec);
  r.min.write(tf.scalar(lo));
  r.max.write(tf.scalar(hi));
}

/**
 * The LSQ counterpart of observeAndQuantize: calibration feeds the sink (the calibrator later writes
 * min/max, seen = 1); the first training batch initialises the step with the paper's 2·mean|x|/sqrt(Qp);
 * frozen observers freeze the step (its gradient scale becomes 0; the input gradient still flows).
 */
export function observeAndQuantizeLsq(mode: QatModeFlags, r: RangeVars, y: tf.Tensor, spec: ActivationQuantSpec, training: boolean, label: string): tf.Tensor {
  const learning = training && !mode.observersFrozen;
  if (mode.calibrationSink) {
    mode.calibrationSink(label, r, y);
  } else {
    const seen = scalar(r.seen);
    tf.tidy(() => {
      // Written eagerly, as the observers write their ranges; the init ops are dead ends on the tape.
      if (seen === SEEN_NONE && learning) writeStep(r, lsqInitialStep(y, { bits: spec.bits, signed: spec.signed ?? true }), spec);
      else if (seen === SEEN_RANGE) writeStep(r, tf.scalar(stepFromRange(scalar(r.min), scalar(r.max), spec)), spec);
      else if (seen === SEEN_STEP && learning) mirror(r, scalar(stepVar(r)), spec);
    });
  }
  if (!mode.activationQuantization || scalar(r.seen) !== SEEN_STEP) return y; // no step yet: float, as an unobserved range
  return lsqQuantize(y, stepVar(r).read(), { bits: spec.bits, signed: spec.signed ?? true, ...(learning ? {} : { gradScale: 0 }), label });
}
