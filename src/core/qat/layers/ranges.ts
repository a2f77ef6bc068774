// Activation ranges of QAT layers: min/max (and a "seen" flag) held as non-trainable layer weights,
// so they are saved with the model, restored bit for bit, and averaged across data-parallel shards.
// Updated eagerly inside `call` in training mode by the observers of src/core/quant/observers.
import type { LayerVariable } from '@tensorflow/tfjs-layers';
import * as tf from '../../tf.js';
import { fakeQuant } from '../../quant/fakeQuant.js';
import { createObserver, type Observer } from '../../quant/observers/index.js';

export interface RangeVars {
  min: LayerVariable;
  max: LayerVariable;
  /** 0 until the first batch was observed (or a calibration set the range). */
  seen: LayerVariable;
}

export interface ActivationQuantSpec {
  bits: number;
  kind: 'ema' | 'minmax';
  decay: number;
  /** A range fixed by the op (softmax: [0, 255/256] for an int8 scale of 1/256), never observed. */
  fixed?: [number, number];
}

/**
 * What a QAT layer does with its activation ranges right now; set on every QAT layer of a model at once
 * by setQatMode (schedules, calibration, weights-only evaluation).
 */
export interface QatModeFlags {
  /** Training stops moving the ranges (the torchvision recipe freezes them late in training). */
  observersFrozen: boolean;
  /** BN normalises with its running statistics even in training, and stops updating them. */
  batchNormFrozen: boolean;
  /** Post-training calibration: every activation goes to this sink (inference mode) instead of an observer. */
  calibrationSink: CalibrationSink | null;
  /** False evaluates weights-only ("dynamic") quantization: activations stay float. */
  activationQuantization: boolean;
}

export type CalibrationSink = (label: string, range: RangeVars, activation: tf.Tensor) => void;

export const DEFAULT_MODE: Readonly<QatModeFlags> = Object.freeze({
  observersFrozen: false,
  batchNormFrozen: false,
  calibrationSink: null,
  activationQuantization: true,
});

/** Observes (training or calibration) and fake-quantizes one activation, as the layer's mode says. */
export function observeAndQuantize(mode: QatModeFlags, r: RangeVars, y: tf.Tensor, spec: ActivationQuantSpec, training: boolean, label: string): tf.Tensor {
  if (mode.calibrationSink && !spec.fixed) mode.calibrationSink(label, r, y);
  else if (training && !mode.observersFrozen) updateRange(r, y, spec);
  return mode.activationQuantization ? quantizeActivation(r, y, spec, label) : y;
}

// One observer per range, adopting the layer's own variables (so they are saved and merged with it).
const observers = new WeakMap<RangeVars, Observer>();

export function updateRange(r: RangeVars, y: tf.Tensor, spec: ActivationQuantSpec): void {
  if (spec.fixed) return;
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
export function quantizeActivation(r: RangeVars, y: tf.Tensor, spec: ActivationQuantSpec, label: string): tf.Tensor {
  if (spec.fixed) return fakeQuant(y, tf.scalar(spec.fixed[0]), tf.scalar(spec.fixed[1]), { bits: spec.bits, label });
  if (r.seen.read().dataSync()[0] === 0) return y;
  return fakeQuant(y, tf.minimum(r.min.read(), 0), tf.maximum(r.max.read(), 0), { bits: spec.bits, label });
}

/** The current range as numbers (for conversion and reports). */
export function readRange(r: RangeVars): [number, number] {
  return [r.min.read().dataSync()[0]!, r.max.read().dataSync()[0]!];
}
