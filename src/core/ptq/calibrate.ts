// Post-training static quantization: the QAT form of the float model (weights fake-quantized, BN
// folded with its running statistics), its activation ranges set by calibration on N training samples
// with the observer the user chose, and no training. The baseline QAT has to beat.
import type { LayersModel } from '@tensorflow/tfjs-layers';
import * as tf from '../tf.js';
import type { RangeVars } from '../qat/layers/ranges.js';
import { qatLayers, setQatMode } from '../qat/mode.js';

/** A per-tensor range estimator fed with activations batch by batch (src/core/quant/observers). */
export interface RangeCalibrator {
  observe(values: Float32Array, shape: number[]): void;
  range(): { min: number[]; max: number[] };
}

export interface CalibrationResult {
  /** Range per activation tensor, by label (`layer/output`). */
  ranges: Record<string, [number, number]>;
  samples: number;
}

/**
 * Runs `batches` through the model in inference mode, feeding every activation to its own calibrator,
 * then writes the ranges into the model. Activations stay float while calibrating, as in PyTorch's
 * prepare/calibrate/convert flow.
 */
export function calibrate(model: LayersModel, batches: Iterable<tf.Tensor>, newCalibrator: (label: string) => RangeCalibrator): CalibrationResult {
  const seen = new Map<string, { range: RangeVars; calibrator: RangeCalibrator }>();
  const saved = qatLayers(model).map((l) => [l, { ...l.mode }] as const);
  setQatMode(model, {
    activationQuantization: false,
    calibrationSink: (label, range, activation) => {
      let entry = seen.get(label);
      if (!entry) {
        entry = { range, calibrator: newCalibrator(label) };
        seen.set(label, entry);
      }
      entry.calibrator.observe(activation.dataSync() as Float32Array, activation.shape);
    },
  });
  let samples = 0;
  try {
    for (const batch of batches) {
      tf.dispose(model.predict(batch) as tf.Tensor);
      samples += batch.shape[0]!;
    }
  } finally {
    for (const [layer, mode] of saved) layer.mode = mode;
  }
  const ranges: Record<string, [number, number]> = {};
  for (const [label, { range, calibrator }] of seen) {
    const r = calibrator.range();
    const min = r.min[0]!;
    const max = r.max[0]!;
    tf.tidy(() => {
      range.min.write(tf.scalar(min));
      range.max.write(tf.scalar(max));
      range.seen.write(tf.scalar(1));
    });
    ranges[label] = [min, max];
  }
  return { ranges, samples };
}

/** Weights-only ("dynamic") quantization: int8 weights, activations left in float. */
export function weightsOnly(model: LayersModel): void {
  setQatMode(model, { activationQuantization: false });
}
