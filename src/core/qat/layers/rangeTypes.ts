// The shapes of a QAT layer's activation quantization state and mode, shared by the observer path
// (ranges.ts) and the LSQ path (lsqActivation.ts) without either importing the other's module.
import type { LayerVariable } from '@tensorflow/tfjs-layers';
import type * as tf from '../../tf.js';

export interface RangeVars {
  min: LayerVariable;
  max: LayerVariable;
  /**
   * 0 until the first batch was observed (or a calibration set the range). LSQ uses a third state
   * (lsqActivation.ts): 1 = min/max were set from outside, 2 = the step is live and min/max mirror it.
   */
  seen: LayerVariable;
  /** LSQ only: the trainable scalar step (a trainable layer weight). */
  step?: LayerVariable;
}

export interface ActivationQuantSpec {
  bits: number;
  kind: 'ema' | 'minmax' | 'lsq';
  decay: number;
  /** LSQ only: signed grid [-2^(b-1), 2^(b-1) - 1]·step, else unsigned [0, 2^b - 1]·step (after relu/relu6). */
  signed?: boolean;
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
  /** False leaves weights in float too: the same model without any quantization (per-layer error reports). */
  weightQuantization: boolean;
}

export type CalibrationSink = (label: string, range: RangeVars, activation: tf.Tensor) => void;
