// Int8 conversion of LSQ layers: the learned steps are the deployed scales. Golden integers of a tiny
// hand-made layer (the training op's round half up and clamp), activation scale = step with the zero
// point of the grid, and BN-folded LSQ weights bit-identical to the QAT forward's.
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../../src/core/tf.js';
import { convert } from '../../../src/core/convert/index.js';
import { runIntModel } from '../../../src/core/intref/index.js';
import { SEEN_RANGE, SEEN_STEP } from '../../../src/core/qat/layers/lsqActivation.js';
import { QatLinear } from '../../../src/core/qat/layers/qatLinear.js';
import { QatQuantize } from '../../../src/core/qat/layers/qatQuantize.js';
import type { RangeVars } from '../../../src/core/qat/layers/ranges.js';
import { quantizeWeightsLsq } from '../../../src/core/qat/layers/weights.js';
import type { QatConfig } from '../../../src/core/qat/config.js';
import { prepareQat } from '../../../src/core/qat/prepare.js';
import { uniform } from '../intref/models.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function setStep(r: RangeVars, step: number): void {
  r.step!.write(tf.scalar(step));
  r.seen.write(tf.scalar(SEEN_STEP));
}

/** Input [2] → Dense(3) + ReLU, LSQ weights and activations, hand-set weights and steps. */
function tinyDense(config: Partial<QatConfig> = {}) {
  const input = tfl.input({ shape: [2], name: 'x' });
  const y = tfl.layers.dense({ units: 3, name: 'fc', activation: 'relu' }).apply(input) as tfl.SymbolicTensor;
  const { model } = prepareQat(tfl.model({ inputs: input, outputs: y }), { weightQuantizer: 'lsq', activationQuantizer: 'lsq', perChannelDense: true, ...config });
  const fc = model.getLayer('fc') as QatLinear;
  const w = fc.weightsByRole();
  // w / s per channel: [1.5, -1.5, 160; -0.5, 0.6, -0.5] → half up: [2, -1, 127 (clamped); 0, 1, 0].
  w.kernel.write(tf.tensor2d([[0.375, -0.75, 20], [-0.125, 0.3, -0.0625]]));
  w.kernelStep!.write(config.perChannelDense === false ? tf.scalar(0.25) : tf.tensor1d([0.25, 0.5, 0.125]));
  w.bias!.write(tf.tensor1d([0.01, -0.2, 0.3]));
  setStep((model.getLayer('x_quant') as QatQuantize).rangeVars(), 1 / 64); // signed: zero point 0
  setStep(w.out, 1 / 32); // unsigned after the ReLU: zero point -128
  return model;
}

describe('LSQ tiny dense layer (golden)', () => {
  it('int8 weights are clamp(floor(w/step + 0.5)) with scale = step, zero point 0', () => {
    const m = convert(tinyDense());
    const w = m.tensors['fc/weight']!;
    expect(Array.from(w.data as Int8Array)).toEqual([2, -1, 127, 0, 1, 0]);
    expect(w.quant).toEqual({ scale: [0.25, 0.5, 0.125], zeroPoint: [0, 0, 0], axis: 1, qmin: -127, qmax: 127 });
  });

  it('a per-tensor step gives one scale', () => {
    const m = convert(tinyDense({ perChannelDense: false }));
    const w = m.tensors['fc/weight']!;
    // w / 0.25 = [1.5, -3, 80; -0.5, 1.2, -0.25].
    expect(Array.from(w.data as Int8Array)).toEqual([2, -3, 80, 0, 1, 0]);
    expect(w.quant).toEqual({ scale: [0.25], zeroPoint: [0], axis: null, qmin: -127, qmax: 127 });
  });

  it('activation scale is the step itself; zero point 0 signed, -128 unsigned; the bias scale is input · weight step', () => {
    const m = convert(tinyDense());
    expect(m.tensors.x_quant!.quant).toMatchObject({ scale: [1 / 64], zeroPoint: [0], qmin: -128, qmax: 127 });
    expect(m.tensors.fc!.quant).toMatchObject({ scale: [1 / 32], zeroPoint: [-128] });
    expect(m.tensors.fc!.range).toEqual([0, 255 / 32]);
    expect(m.tensors['fc/bias']!.quant!.scale).toEqual([2 ** -8, 2 ** -7, 2 ** -9]);
    expect(m.ops.find((o) => o.kind === 'dense')).toMatchObject({ activation: 'relu', clamp: [-128, 127] });
  });

  it('the integer reference computes what the simulation computes', () => {
    const model = tinyDense();
    const m = convert(model);
    const x = uniform(2 * 64, 3, -2, 2);
    const sim = (model.predict(tf.tensor2d(x, [64, 2])) as tf.Tensor).dataSync();
    const int = runIntModel(m, x, 64);
    let maxSteps = 0;
    for (let i = 0; i < int.length; i++) maxSteps = Math.max(maxSteps, Math.abs(int[i]! - sim[i]!) * 32);
    expect(maxSteps).toBeLessThanOrEqual(1 + 1e-6);
  });

  it('a range set from outside (calibration, seen = 1) converts with the step it implies, before any forward', () => {
    const model = tinyDense();
    const r = (model.getLayer('fc') as QatLinear).weightsByRole().out;
    r.min.write(tf.scalar(-1));
    r.max.write(tf.scalar(5.1));
    r.seen.write(tf.scalar(SEEN_RANGE));
    expect(convert(model).tensors.fc!.quant).toMatchObject({ scale: [Math.fround(5.1 / 255)], zeroPoint: [-128] });
  });

  it('refuses a model whose steps were never initialised', () => {
    const input = tfl.input({ shape: [2], name: 'x' });
    const { model } = prepareQat(tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 3, name: 'fc' }).apply(input) as tfl.SymbolicTensor }), { activationQuantizer: 'lsq' });
    expect(() => convert(model)).toThrow(/step was never initialised/);
  });
});

describe('BN-folded LSQ weights', () => {
  for (const kind of ['conv2d', 'depthwise'] as const) {
    it(`${kind}: dequantized int8 weights are bit-identical to the QAT layer's LSQ-quantized folded weights`, () => {
      const input = tfl.input({ shape: [6, 6, 3], name: 'x' });
      const conv =
        kind === 'conv2d'
          ? tfl.layers.conv2d({ filters: 4, kernelSize: 3, name: 'c', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) })
          : tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, name: 'c', depthwiseInitializer: tfl.initializers.glorotUniform({ seed: 3 }) });
      const float = tfl.model({ inputs: input, outputs: tfl.layers.batchNormalization({ name: 'bn' }).apply(conv.apply(input)) as tfl.SymbolicTensor });
      const c = kind === 'conv2d' ? 4 : 6;
      float.getLayer('bn').setWeights([0, 1, 2, 3].map((i) => tf.tensor1d(uniform(c, 10 + i, i === 3 ? 0.2 : -1, i === 3 ? 3 : 1.5))));
      const { model } = prepareQat(float, { weightQuantizer: 'lsq' });
      const layer = model.getLayer('c') as QatLinear;
      const role = layer.weightsByRole();
      // Activations on EMA ranges here: set them by hand.
      for (const [r, lim] of [[(model.getLayer('x_quant') as QatQuantize).rangeVars(), 1], [role.out, 3]] as const) {
        r.min.write(tf.scalar(-lim));
        r.max.write(tf.scalar(lim));
        r.seen.write(tf.scalar(1));
      }
      // Shrink the initial steps so some weights clamp at ±127.
      role.kernelStep!.write(tf.mul(role.kernelStep!.read(), 0.05));
      const m = convert(model);
      const w = m.tensors['c/weight']!;
      const expected = tf.tidy(() => {
        const sf = tf.div(role.gamma!.read(), tf.sqrt(tf.add(role.movingVariance!.read(), layer.args.batchNorm!.epsilon)));
        const k = role.kernel.read();
        const folded = kind === 'conv2d' ? tf.mul(k, sf) : tf.reshape(tf.mul(k, tf.reshape(sf, [3, 2])), [3, 3, 6]);
        return quantizeWeightsLsq(folded, role.kernelStep!.read(), folded.rank - 1, 8, 'test').dataSync() as Float32Array;
      });
      expect(w.quant!.scale).toEqual(Array.from(role.kernelStep!.read().dataSync()));
      const q = w.data as Int8Array;
      expect(Array.from(q).some((v) => Math.abs(v) === 127)).toBe(true);
      const dequantized = Float32Array.from(q, (v, i) => v * w.quant!.scale[i % c]!);
      expect(Array.from(dequantized)).toEqual(Array.from(expected));
    });
  }
});
