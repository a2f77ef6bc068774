// Golden int8 weights, per-channel scales and int32 biases of a tiny hand-made layer, and BN-folded
// weights equal to the ones the QAT forward pass fake-quantizes.
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../../src/core/tf.js';
import { convert } from '../../../src/core/convert/index.js';
import { quantizeBias } from '../../../src/core/convert/weights.js';
import { evaluateIntModel, runFloatModel, runIntModel } from '../../../src/core/intref/index.js';
import { QatLinear } from '../../../src/core/qat/layers/qatLinear.js';
import { QatQuantize } from '../../../src/core/qat/layers/qatQuantize.js';
import type { RangeVars } from '../../../src/core/qat/layers/ranges.js';
import { quantizeWeights as fakeQuantWeights } from '../../../src/core/qat/layers/weights.js';
import { prepareQat } from '../../../src/core/qat/prepare.js';
import { uniform } from '../intref/models.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function setRange(r: RangeVars, min: number, max: number): void {
  r.min.write(tf.scalar(min));
  r.max.write(tf.scalar(max));
  r.seen.write(tf.scalar(1));
}

/** Input [2] → Dense(3) (+ optional fused ReLU6), per-channel weights, hand-set weights and ranges. */
function tinyDense(relu6 = false) {
  const input = tfl.input({ shape: [2], name: 'x' });
  let y = tfl.layers.dense({ units: 3, name: 'fc' }).apply(input) as tfl.SymbolicTensor;
  if (relu6) y = tfl.layers.reLU({ maxValue: 6, name: 'act' }).apply(y) as tfl.SymbolicTensor;
  const { model } = prepareQat(tfl.model({ inputs: input, outputs: y }), { perChannelDense: true });
  const fc = model.getLayer('fc') as QatLinear;
  const w = fc.weightsByRole();
  // Per-channel max |w| = 127 · 2^-k gives exact scales 1/64, 1/128, 1/2.
  w.kernel.write(tf.tensor2d([[1.984375, 0.9921875, -63.5], [-0.5234375, 0.01953125, 10.3]]));
  w.bias!.write(tf.tensor1d([2.5 / 4096, -0.2, 0.3]));
  setRange((model.getLayer('x_quant') as QatQuantize).rangeVars(), -2, 1.984375); // scale 1/64, zero point 0
  setRange(w.out, -8, 7.9375); // scale 1/16, zero point 0
  return model;
}

describe('tiny dense layer (golden)', () => {
  it('int8 weights keep the training op’s round-half-up; per-channel scales max|w_c| / 127', () => {
    const m = convert(tinyDense());
    const w = m.tensors['fc/weight']!;
    expect(w.shape).toEqual([2, 3]);
    expect(w.dtype).toBe('int8');
    // -33.5 → -33 and 2.5 → 3: the op the model trained with rounds half up (runtime would say -34, 2).
    expect(Array.from(w.data as Int8Array)).toEqual([127, 127, -127, -33, 3, 21]);
    expect(w.quant).toEqual({ scale: [1 / 64, 1 / 128, 0.5], zeroPoint: [0, 0, 0], axis: 1, qmin: -127, qmax: 127 });
  });

  it('int32 bias with scale input_scale · weight_scale[c], rounded half to even', () => {
    const m = convert(tinyDense());
    const b = m.tensors['fc/bias']!;
    expect(b.dtype).toBe('int32');
    // 2.5 → 2 (even), -1638.4 → -1638, 38.4 → 38.
    expect(Array.from(b.data as Int32Array)).toEqual([2, -1638, 38]);
    expect(b.quant!.scale).toEqual([2 ** -12, 2 ** -13, 2 ** -7]);
    expect(b.quant!.zeroPoint).toEqual([0, 0, 0]);
    expect(m.tensors.x_quant!.quant).toMatchObject({ scale: [1 / 64], zeroPoint: [0] });
    expect(m.tensors.fc!.quant).toMatchObject({ scale: [1 / 16], zeroPoint: [0] });
  });

  it('evaluates by hand: acc = bias + Σ x·w, × M, round, saturate', () => {
    const m = convert(tinyDense());
    // x = [0.5, -1] → q = [32, -64].
    // acc0 = 2 + 32·127 - 64·(-33) = 6178, M0 = 2^-6·2^-6 / 2^-4 = 2^-8 → 24.13 → 24 → 1.5
    // acc1 = -1638 + 32·127 - 64·3 = 2234, M1 = 2^-9 → 4.36 → 4 → 0.25
    // acc2 = 38 - 32·127 - 64·21 = -5370, M2 = 2^-3 → -671 → saturates at -128 → -8
    expect(Array.from(runIntModel(m, Float32Array.from([0.5, -1]), 1))).toEqual([1.5, 0.25, -8]);
    expect(m.ops.find((o) => o.kind === 'dense')).toMatchObject({ activation: 'linear', clamp: [-128, 127] });
  });

  it('traces int8 tensors; the float evaluation uses the dequantized weights and bias', () => {
    const m = convert(tinyDense());
    const x = Float32Array.from([0.5, -1]);
    const r = evaluateIntModel(m, [x], 1, { trace: true });
    expect(r.tensors!.x_quant).toEqual(Int8Array.from([32, -64]));
    expect(r.tensors!.fc).toEqual(Int8Array.from([24, 4, -128]));
    // Float activations: 0.5·w0 - w1 + bias_q · bias_scale, no output grid, no saturation.
    const raw = runFloatModel(m, x, 1, { quantizeActivations: false });
    const want = [0.5 * (127 / 64) + 33 / 64 + 2 / 4096, 0.5 * (127 / 128) - 3 / 128 - 1638 / 8192, 0.5 * -63.5 - 10.5 + 38 / 128];
    want.forEach((v, i) => expect(raw[i]).toBeCloseTo(v, 5));
    // Snapped to the grid (half to even) it is the integer result.
    expect(Array.from(runFloatModel(m, x, 1))).toEqual([1.5, 0.25, -8]);
  });

  it('a fused ReLU6 becomes the output clamp [q(0), q(6)]', () => {
    const m = convert(tinyDense(true));
    expect(m.ops.find((o) => o.kind === 'dense')).toMatchObject({ activation: 'relu6', clamp: [0, 96] });
    // x = [-2, 0]: channel 2 is -2 · -63.5 = 127 → clamped at q(6) = 96; the negative channels at q(0) = 0.
    expect(Array.from(runIntModel(m, Float32Array.from([0.5, -1, -2, 0]), 2))).toEqual([1.5, 0.25, 0, 0, 0, 6]);
  });

  it('bias quantization saturating int32 is refused', () => {
    expect(() => quantizeBias(Float32Array.from([1e6]), 1e-4, [1e-4], 'b')).toThrow(/does not fit in int32/);
  });
});

describe('BN folding', () => {
  function convBn(kind: 'conv2d' | 'depthwise') {
    const input = tfl.input({ shape: [6, 6, 3], name: 'x' });
    const conv =
      kind === 'conv2d'
        ? tfl.layers.conv2d({ filters: 4, kernelSize: 3, name: 'c', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) })
        : tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, name: 'c', depthwiseInitializer: tfl.initializers.glorotUniform({ seed: 3 }) });
    const y = tfl.layers.batchNormalization({ name: 'bn' }).apply(conv.apply(input)) as tfl.SymbolicTensor;
    const float = tfl.model({ inputs: input, outputs: y });
    const c = kind === 'conv2d' ? 4 : 6;
    float.getLayer('c').setWeights([float.getLayer('c').getWeights()[0]!, tf.tensor1d(uniform(c, 1, -0.2, 0.2))]);
    float.getLayer('bn').setWeights([0.5, -0.3, -0.1, 0.4].map((_, i) => tf.tensor1d(uniform(c, 10 + i, i === 3 ? 0.2 : -1, i === 3 ? 3 : 1.5))));
    const { model } = prepareQat(float);
    setRange((model.getLayer('x_quant') as QatQuantize).rangeVars(), -1, 1);
    const layer = model.getLayer('c') as QatLinear;
    setRange(layer.weightsByRole().out, -3, 3);
    return { model, layer, float };
  }

  for (const kind of ['conv2d', 'depthwise'] as const) {
    it(`${kind}: dequantized int8 weights are bit-identical to the QAT layer's fake-quantized folded weights`, () => {
      const { model, layer } = convBn(kind);
      const m = convert(model);
      const w = m.tensors['c/weight']!;
      const role = layer.weightsByRole();
      const bn = layer.args.batchNorm!;
      const expected = tf.tidy(() => {
        const sf = tf.div(role.gamma!.read(), tf.sqrt(tf.add(role.movingVariance!.read(), bn.epsilon)));
        const k = role.kernel.read();
        const folded = kind === 'conv2d' ? tf.mul(k, sf) : tf.reshape(tf.mul(k, tf.reshape(sf, [3, 2])), [3, 3, 6]);
        return fakeQuantWeights(folded, folded.rank - 1, 8, 'test').dataSync() as Float32Array;
      });
      const c = w.quant!.scale.length;
      expect(c).toBe(kind === 'conv2d' ? 4 : 6);
      const q = w.data as Int8Array;
      const dequantized = Float32Array.from(q, (v, i) => v * w.quant!.scale[i % c]!);
      expect(Array.from(dequantized)).toEqual(Array.from(expected));
      // Every channel uses its full range: max |q| = 127.
      for (let ch = 0; ch < c; ch++) expect(Math.max(...Array.from(q).filter((_, i) => i % c === ch).map(Math.abs))).toBe(127);
    });
  }

  it('folded bias = beta + (bias - mean) · gamma / sqrt(var + eps), quantized at input_scale · weight_scale', () => {
    const { model, float } = convBn('conv2d');
    const m = convert(model);
    const [gamma, beta, mean, variance] = float.getLayer('bn').getWeights().map((t) => Array.from(t.dataSync()));
    const bias = Array.from(float.getLayer('c').getWeights()[1]!.dataSync());
    const eps = (float.getLayer('bn').getConfig() as { epsilon: number }).epsilon;
    const b = m.tensors['c/bias']!;
    for (let c = 0; c < 4; c++) {
      const want = beta![c]! + (bias[c]! - mean![c]!) * (gamma![c]! / Math.sqrt(variance![c]! + eps));
      const s = b.quant!.scale[c]!;
      expect(s).toBe(Math.fround(m.tensors.x_quant!.quant!.scale[0]! * m.tensors['c/weight']!.quant!.scale[c]!));
      expect(Math.abs((b.data as Int32Array)[c]! * s - want)).toBeLessThanOrEqual(s / 2 + 1e-6);
    }
  });
});
