// Post-training quantization baselines on a small trained MLP (real data: sklearn's wine CSV).
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../../src/core/tf.js';
import { evaluatePredictor, modelPredictor } from '../../../src/core/eval/metrics.js';
import { layerErrors } from '../../../src/core/eval/layerError.js';
import { calibrate, weightsOnly } from '../../../src/core/ptq/calibrate.js';
import { qatLayers } from '../../../src/core/qat/mode.js';
import { prepareQat } from '../../../src/core/qat/prepare.js';
import { createCalibrator } from '../../../src/core/quant/observers/index.js';
import { useBackend } from '../../support/backends.js';
import { loadSklearn } from '../../support/datasets.js';

let float: tfl.LayersModel;
let data: { xTrain: tf.Tensor; yTrain: tf.Tensor; xTest: tf.Tensor; yTest: tf.Tensor };

beforeAll(async () => {
  await useBackend('cpu');
  const d = loadSklearn('wine', { testFraction: 0.3, seed: 1 });
  data = {
    xTrain: tf.tensor2d(d.train.x, [d.train.y.length, d.features]),
    yTrain: tf.tensor1d(d.train.y as Int32Array, 'int32'),
    xTest: tf.tensor2d(d.test.x, [d.test.y.length, d.features]),
    yTest: tf.tensor1d(d.test.y as Int32Array, 'int32'),
  };
  float = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [d.features], units: 16, activation: 'relu', name: 'h', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
      tfl.layers.dense({ units: 3, name: 'out', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  // Full-batch Adam on logits (the model has no softmax, as the int8 runtime wants it).
  const opt = tf.train.adam(0.02);
  const labels = tf.oneHot(data.yTrain, 3);
  for (let i = 0; i < 150; i++) {
    opt.minimize(() => tf.losses.softmaxCrossEntropy(labels, float.apply(data.xTrain, { training: true }) as tf.Tensor) as tf.Scalar, true)?.dispose();
  }
});

describe('post-training quantization', () => {
  it('static PTQ calibrated with each observer stays close to float on the test split', () => {
    const floatAcc = evaluatePredictor(modelPredictor(float), data.xTest, data.yTest, 'classification').accuracy!;
    expect(floatAcc).toBeGreaterThan(0.9);
    for (const kind of ['minmax', 'ema', 'percentile', 'mse'] as const) {
      const { model } = prepareQat(float);
      const result = calibrate(model, [tf.slice(data.xTrain, 0, 64), tf.slice(data.xTrain, 64, 60)], (label) => createCalibrator(kind, { name: label, includeZero: true }));
      expect(result.samples).toBe(124);
      // The input quantizer, then each layer's output.
      expect(Object.keys(result.ranges)).toHaveLength(3);
      expect(result.ranges).toHaveProperty(['h/output']);
      expect(result.ranges).toHaveProperty(['out/output']);
      expect(result.ranges['h/output']![0]).toBe(0); // after ReLU, widened to include 0
      for (const [min, max] of Object.values(result.ranges)) expect(max).toBeGreaterThan(min);
      const acc = evaluatePredictor(modelPredictor(model), data.xTest, data.yTest, 'classification').accuracy!;
      expect(Math.abs(acc - floatAcc), kind).toBeLessThanOrEqual(0.04);
    }
  });

  it('weights-only PTQ leaves activations float and reports per-layer SQNR', () => {
    const { model } = prepareQat(float);
    weightsOnly(model);
    const acc = evaluatePredictor(modelPredictor(model), data.xTest, data.yTest, 'classification').accuracy!;
    const floatAcc = evaluatePredictor(modelPredictor(float), data.xTest, data.yTest, 'classification').accuracy!;
    expect(Math.abs(acc - floatAcc)).toBeLessThanOrEqual(0.02);
    const errors = layerErrors(model, tf.slice(data.xTest, 0, 32));
    expect(qatLayers(model).every((l) => !l.mode.activationQuantization && l.mode.weightQuantization)).toBe(true);
    expect(errors.map((e) => e.name)).toEqual(['h', 'out']);
    for (const e of errors) {
      // 8-bit symmetric weights: ~6 dB per bit, minus the spread of the values.
      expect(e.weightSqnrDb).toBeGreaterThan(30);
      expect(e.outputSqnrDb!).toBeGreaterThan(25);
    }
    expect(errors[0]!.macs).toBe(13 * 16);
    expect(errors[0]!.params).toBe(13 * 16 + 16);
    const four = prepareQat(float, { weightBits: 4 });
    weightsOnly(four.model);
    const e4 = layerErrors(four.model, tf.slice(data.xTest, 0, 32));
    expect(e4[0]!.weightSqnrDb).toBeLessThan(errors[0]!.weightSqnrDb - 15);
  });
});
