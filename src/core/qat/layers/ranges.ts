// Activation ranges of QAT layers: min/max (and a "seen" flag) held as non-trainable layer weights,
// so they are saved with the model, restored bit for bit, and averaged across data-parallel shards.
// Updated eagerly inside `call` in training mode by the observers of src/core/quant/observers, or,
// for LSQ, mirrored from the learned step (lsqActivation.ts).
import * as tf from '../../tf.js';
import { fakeQuant } from '../../quant/fakeQuant.js';
import { createObserver, type Observer } from '../../quant/observers/index.js';
import { observeAndQuantizeLsq } from './lsqActivation.js';
import type { ActivationQuantSpec, QatModeFlags, RangeVars } from './rangeTypes.js';

export type { ActivationQuantSpec, CalibrationSink, QatModeFlags, RangeVars } from './rangeTypes.js';

export const DEFAULT_MODE: Readonly<QatModeFlags> = Object.freeze({
  observersFrozen: false,
  batchNormFrozen: false,
  calibrationSink: null,
  activationQuantization: true,
  weightQuantization: true,
});

/** Observes (training or calibration) and fake-quantizes one activation, as the layer's mode says. */
export function observeAndQuantize(mode: QatModeFlags, r: RangeVars, y: tf.Tensor, spec: ActivationQuantSpec, training: boolean, label: string): tf.Tensor {
  if (isLsq(spec)) return observeAndQuantizeLsq(mode, r, y, spec, training, label);
  // Just observed: the range is set, so the per-step read of `seen` (a device sync) can be skipped.
  let observed = false;
  if (mode.calibrationSink && !spec.fixed) mode.calibrationSink(label, r, y);
  else if (training && !mode.observersFrozen && y.size > 0) {
    updateRange(r, y, spec);
    observed = true;
  }
  return mode.activationQuantization ? quantizeActivation(r, y, spec, label, observed) : y;
}

/** A learned-step activation (a fixed range, e.g. softmax's, stays a fixed fake-quant). */
export function isLsq(spec: ActivationQuantSpec): boolean {
  return spec.kind === 'lsq' && !spec.fixed;
}

/**
 * The spec of a separable convolution's depthwise output: the layer's own output spec, except that an
 * LSQ grid is signed there, since the fused activation only comes after the pointwise convolution.
 */
export function intermediateSpec(spec: ActivationQuantSpec): ActivationQuantSpec {
  return spec.kind === 'lsq' ? { ...spec, signed: true } : spec;
}

// One observer per range, adopting the layer's own variables (so they are saved and merged with it).
const observers = new WeakMap<RangeVars, Observer>();

export function updateRange(r: RangeVars, y: tf.Tensor, spec: ActivationQuantSpec): void {
  if (spec.fixed) return;
  if (spec.kind === 'lsq') throw new Error(`internal: ${r.min.name}: an LSQ range has no observer`);
  let observer = observers.get(r);
  if (!observer) {
    observer = createObserver(spec.kind, {
      name: r.min.name.replace(/_min$/, ''),
      ...(spec.kind === 'ema' ? { decay: spec.decay } : {}),
      variables: { min: r.min.read() as tf.Variable, max: r.max.read() as tf.Variable, initialized: r.seen.read() as tf.Variable },
    });
    observers.set(r, observer);
  }
  observer.update(y);
}

/**
 * Fake-quantizes an activation on its range widened to contain 0. A range never observed yet (an
 * uncalibrated model used for inference) leaves the activation in float rather than crushing it to 0.
 */
export function quantizeActivation(r: RangeVars, y: tf.Tensor, spec: ActivationQuantSpec, label: string, observed = false): tf.Tensor {
  if (spec.fixed) return fakeQuant(y, tf.scalar(spec.fixed[0]), tf.scalar(spec.fixed[1]), { bits: spec.bits, label });
  if (!observed && r.seen.read().dataSync()[0] === 0) return y;
  return fakeQuant(y, tf.minimum(r.min.read(), 0), tf.maximum(r.max.read(), 0), { bits: spec.bits, label });
}

/** The current range as numbers (for conversion and reports). */
export function readRange(r: RangeVars): [number, number] {
  return [r.min.read().dataSync()[0]!, r.max.read().dataSync()[0]!];
}
