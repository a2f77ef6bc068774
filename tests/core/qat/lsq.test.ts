// prepareQat with LSQ (learned step size) weights and activations: the step variables, their
// initialisation (folded weights; first training batch; calibration), the gradient scale, training,
// and checkpoints.
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../../src/core/tf.js';
import { calibrate } from '../../../src/core/ptq/calibrate.js';
import { resolveQatConfig } from '../../../src/core/qat/config.js';
import { SEEN_RANGE, SEEN_STEP } from '../../../src/core/qat/layers/lsqActivation.js';
import { QatLinear } from '../../../src/core/qat/layers/qatLinear.js';
import { QatQuantize } from '../../../src/core/qat/layers/qatQuantize.js';
import { setQatMode } from '../../../src/core/qat/mode.js';
import { prepareQat } from '../../../src/core/qat/prepare.js';
import { useBackend } from '../../support/backends.js';

beforeAll(() => useBackend('cpu'));

const LSQ = { weightQuantizer: 'lsq', activationQuantizer: 'lsq' } as const;

function cnn(): tfl.LayersModel {
  const init = (s: number) => tfl.initializers.glorotUniform({ seed: 100 + s });
  const model = tfl.sequential({
    name: 'cnn',
    layers: [
      tfl.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, name: 'conv1', kernelInitializer: init(1) }),
      tfl.layers.batchNormalization({ name: 'bn1' }),
      tfl.layers.reLU({ name: 'relu1' }),
      tfl.layers.separableConv2d({ kernelSize: 3, filters: 6, depthMultiplier: 2, name: 'sep', depthwiseInitializer: init(2), pointwiseInitializer: init(3) }),
      tfl.layers.flatten({ name: 'flat' }),
      tfl.layers.dense({ units: 3, name: 'logits', kernelInitializer: init(4) }),
    ],
  });
  const bn = model.getLayer('bn1');
  bn.setWeights([tf.tensor1d([0.6, 1.2, 0.9, 1.4]), tf.tensor1d([0.1, -0.1, 0.2, 0]), tf.tensor1d([0.05, -0.1, 0, 0.2]), tf.tensor1d([0.5, 1.5, 2, 0.8])]);
  return model;
}

const baseName = (name: string) => name.split('/').pop()!.replace(/_\d+$/, '');
const scalar = (t: tf.Tensor) => t.dataSync()[0]!;
const values = (t: tf.Tensor) => Array.from(t.dataSync());
const batch = (seed: number, n = 8) => tf.randomUniform([n, 8, 8, 1], -1, 1, 'float32', seed);

describe('LSQ config', () => {
  it('accepts lsq for weights and activations, still refuses unknown quantizers', () => {
    expect(resolveQatConfig(LSQ).issues).toEqual([]);
    expect(resolveQatConfig({ weightQuantizer: 'ema' as never, activationQuantizer: 'x' as never }).issues.map((i) => i.field)).toEqual(['weight_quantizer', 'activation_quantizer']);
  });
});

describe('prepareQat with LSQ', () => {
  it('adds a trainable step per output channel (per tensor for Dense) and per activation, after the other weights', () => {
    const { model } = prepareQat(cnn(), LSQ);
    // Layer weights list the trainable ones first; tfjs-layers suffixes repeated names with _n.
    const shapes = (name: string) => model.getLayer(name).weights.map((w) => `${baseName(w.name)}:${JSON.stringify(w.shape)}:${w.trainable ? 't' : '-'}`);
    const steps = (name: string) => shapes(name).filter((s) => s.includes('step'));
    expect(steps('conv1')).toEqual(['kernel_step:[4]:t', 'act_step:[]:t']);
    expect(steps('sep')).toEqual(['depthwise_kernel_step:[8]:t', 'pointwise_kernel_step:[6]:t', 'depthwise_act_step:[]:t', 'act_step:[]:t']);
    expect(steps('logits')).toEqual(['kernel_step:[]:t', 'act_step:[]:t']);
    expect(shapes('conv1_input_quant')).toEqual(['act_step:[]:t', 'act_min:[]:-', 'act_max:[]:-', 'act_seen:[]:-']);
    // Unsigned after relu, signed otherwise (the separable intermediate is before the activation).
    expect((model.getLayer('conv1') as QatLinear).args.output.signed).toBe(false);
    expect((model.getLayer('logits') as QatLinear).args.output.signed).toBe(true);
    expect((model.getLayer('conv1_input_quant') as QatQuantize).args.output.signed).toBe(true);
    // Without LSQ the weight lists are what they were.
    expect(prepareQat(cnn()).model.getLayer('conv1').weights.some((w) => w.name.includes('step'))).toBe(false);
  });

  it('initialises weight steps from the BN-folded weights: 2·mean|w_c| / sqrt(127)', () => {
    const float = cnn();
    const { model } = prepareQat(float, { weightQuantizer: 'lsq' });
    const [k] = float.getLayer('conv1').getWeights();
    const [gamma, , , variance] = float.getLayer('bn1').getWeights();
    const folded = tf.mul(k!, tf.div(gamma!, tf.sqrt(tf.add(variance!, 1e-3))));
    const want = tf.mul(tf.mean(tf.abs(folded), [0, 1, 2]), 2 / Math.sqrt(127));
    const got = (model.getLayer('conv1') as QatLinear).weightsByRole().kernelStep!.read();
    expect(tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]).toBeLessThan(1e-7);
    const dense = (model.getLayer('logits') as QatLinear).weightsByRole().kernelStep!.read();
    expect(dense.shape).toEqual([]);
    expect(scalar(dense)).toBeCloseTo((2 * scalar(tf.mean(tf.abs(float.getLayer('logits').getWeights()[0]!)))) / Math.sqrt(127), 7);
  });

  it('the forward quantizes the folded weights on the step grid, clamped at ±127 steps', () => {
    const float = cnn();
    const { model } = prepareQat(float, { weightQuantizer: 'lsq' });
    const layer = model.getLayer('logits') as QatLinear;
    const step = 0.01;
    layer.weightsByRole().kernelStep!.write(tf.scalar(step));
    const x = tf.randomUniform([2, 96], -1, 1, 'float32', 3);
    const got = layer.apply(x) as tf.Tensor;
    const [k, b] = float.getLayer('logits').getWeights();
    const wq = tf.mul(tf.clipByValue(tf.floor(tf.add(tf.div(k!, step), 0.5)), -127, 127), step);
    const want = tf.add(tf.matMul(x, wq), b!);
    expect(tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]).toBeLessThan(1e-5);
  });

  it('initialises activation steps on the first training batch (2·mean|y| / sqrt(Qp)); min/max mirror the grid', () => {
    const { model } = prepareQat(cnn(), LSQ);
    const q = model.getLayer('conv1_input_quant') as QatQuantize;
    const r = q.rangeVars();
    // Before any batch the activation stays float.
    const x = batch(1);
    expect(values(q.apply(x) as tf.Tensor)).toEqual(values(x));
    tf.tidy(() => model.apply(x, { training: true }) as tf.Tensor);
    expect(scalar(r.seen.read())).toBe(SEEN_STEP);
    const s = scalar(r.step!.read());
    expect(s).toBeCloseTo((2 * scalar(tf.mean(tf.abs(x)))) / Math.sqrt(127), 7);
    expect([scalar(r.min.read()), scalar(r.max.read())]).toEqual([Math.fround(-128 * s), Math.fround(127 * s)]);
    // Unsigned grid after the fused ReLU: [0, 255·s].
    const out = (model.getLayer('conv1') as QatLinear).weightsByRole().out;
    const so = scalar(out.step!.read());
    expect([scalar(out.min.read()), scalar(out.max.read())]).toEqual([0, Math.fround(255 * so)]);
    // Later batches do not re-initialise.
    tf.tidy(() => model.apply(tf.mul(batch(2), 5), { training: true }) as tf.Tensor);
    expect(scalar(r.step!.read())).toBe(s);
  });

  it('activation step gradient carries the gradient scale 1/sqrt(numel·Qp) (golden, by hand)', () => {
    // The quantizer prepareQat puts after a ReLU layer: unsigned.
    const input = tfl.input({ shape: [3], name: 'x' });
    const { model } = prepareQat(tfl.model({ inputs: input, outputs: tfl.layers.reLU({ name: 'r' }).apply(input) as tfl.SymbolicTensor }), { activationQuantizer: 'lsq' });
    const q = model.getLayer('r_quant') as QatQuantize;
    expect(q.args.output.signed).toBe(false);
    const r = q.rangeVars();
    const s = 0.25;
    r.step!.write(tf.scalar(s));
    r.seen.write(tf.scalar(SEEN_STEP));
    const xs = [-1, 0.3, 0.55, 70, 0.1, 1.2]; // below 0, inside (4×), above 255·s
    const c = [1, 2, -1, 0.5, 3, -2];
    const x = tf.tensor2d(xs, [2, 3]);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(q.apply(x, { training: true }) as tf.Tensor, tf.tensor2d(c, [2, 3]))) as tf.Scalar, [r.step!.read() as tf.Variable]);
    const g = 1 / Math.sqrt(6 * 255);
    let want = 0;
    xs.forEach((v, i) => {
      const u = v / s;
      want += c[i]! * (u < 0 ? 0 : u > 255 ? 255 : Math.floor(u + 0.5) - u);
    });
    expect(Object.values(grads)[0]!.dataSync()[0]).toBeCloseTo(g * want, 6);
    // Frozen observers freeze the step: its gradient is 0.
    setQatMode(model, { observersFrozen: true });
    const frozen = tf.variableGrads(() => tf.sum(q.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, [r.step!.read() as tf.Variable]);
    expect(Object.values(frozen.grads)[0]!.dataSync()[0]).toBe(0);
  });

  it('weight step gradient carries 1/sqrt(numel_c·Qp) per channel (golden, by hand)', () => {
    const input = tfl.input({ shape: [2], name: 'x' });
    const float = tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 2, name: 'fc', useBias: false }).apply(input) as tfl.SymbolicTensor });
    const { model } = prepareQat(float, { weightQuantizer: 'lsq', perChannelDense: true });
    setQatMode(model, { activationQuantization: false }); // float activations: d loss / d wq is x summed
    const w = (model.getLayer('fc') as QatLinear).weightsByRole();
    const k = [0.33, -0.6, 2, 0.05]; // [cin = 2, cout = 2]
    const steps = [0.1, 0.2];
    w.kernel.write(tf.tensor2d(k, [2, 2]));
    w.kernelStep!.write(tf.tensor1d(steps));
    const xs = [1, -2, 0.5, 3]; // batch of 2
    const { grads } = tf.variableGrads(() => tf.sum(model.apply(tf.tensor2d(xs, [2, 2]), { training: true }) as tf.Tensor) as tf.Scalar, [w.kernelStep!.read() as tf.Variable]);
    const dwq = [xs[0]! + xs[2]!, xs[1]! + xs[3]!]; // per input row i
    const want = [0, 1].map((c) => {
      let sum = 0;
      for (let i = 0; i < 2; i++) {
        const v = k[i * 2 + c]! / steps[c]!;
        sum += dwq[i]! * (v > 127 ? 127 : v < -127 ? -127 : Math.floor(v + 0.5) - v);
      }
      return sum / Math.sqrt(2 * 127);
    });
    const got = Array.from(Object.values(grads)[0]!.dataSync());
    want.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 6));
  });

  it('a calibrated range (seen = 1) becomes the step at next use: max/Qp unsigned, max(max/Qp, -min/128) signed', () => {
    const { model } = prepareQat(cnn(), LSQ);
    calibrate(model, [batch(5, 16), batch(6, 16)], () => ({ observe() {}, range: () => ({ min: [-1.28], max: [0.5] }) }));
    const q = (model.getLayer('conv1_input_quant') as QatQuantize).rangeVars();
    const out = (model.getLayer('conv1') as QatLinear).weightsByRole().out;
    expect(scalar(q.seen.read())).toBe(SEEN_RANGE);
    model.predict(batch(7));
    expect(scalar(q.seen.read())).toBe(SEEN_STEP);
    expect(scalar(q.step!.read())).toBe(Math.fround(1.28 / 128));
    expect(scalar(out.step!.read())).toBe(Math.fround(0.5 / 255));
  });
});

describe('training with LSQ', () => {
  /** A tiny separable problem: the label is the sign pattern of the mean of two image halves. */
  function data() {
    const x = tf.randomUniform([32, 8, 8, 1], -1, 1, 'float32', 11);
    const left = tf.mean(tf.slice(x, [0, 0, 0, 0], [32, 8, 4, 1]), [1, 2, 3]);
    const labels = tf.oneHot(tf.cast(tf.greater(left, 0), 'int32'), 3);
    return { x, labels };
  }

  function train(model: tfl.LayersModel, steps: number): number[] {
    const { x, labels } = data();
    const opt = tf.train.adam(0.01);
    const losses: number[] = [];
    for (let i = 0; i < steps; i++) {
      const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true)!;
      losses.push(scalar(loss));
      loss.dispose();
    }
    opt.dispose();
    return losses;
  }

  it('loss decreases and every step variable moves', () => {
    const { model } = prepareQat(cnn(), LSQ);
    const stepVars = model.trainableWeights.filter((w) => baseName(w.name).endsWith('step'));
    expect(stepVars).toHaveLength(9);
    tf.tidy(() => model.apply(data().x, { training: true }) as tf.Tensor); // initialise the activation steps
    const before = stepVars.map((v) => values(v.read()));
    const losses = train(model, 40);
    expect(losses[losses.length - 1]!).toBeLessThan(0.7 * losses[0]!);
    stepVars.forEach((v, i) => expect(values(v.read()), v.name).not.toEqual(before[i]));
  });

  it('survives save/load bit for bit, and training resumes identically', async () => {
    const { model } = prepareQat(cnn(), LSQ);
    train(model, 3);
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts!));
    for (const name of ['conv1', 'sep', 'logits']) {
      const [a, b] = [loaded, model].map((m) => (m.getLayer(name) as QatLinear).args);
      expect([a!.weightQuantizer, a!.output]).toEqual([b!.weightQuantizer, b!.output]);
    }
    expect((loaded.getLayer('conv1_input_quant') as QatQuantize).args.output).toEqual((model.getLayer('conv1_input_quant') as QatQuantize).args.output);
    expect(loaded.getWeights().map(values)).toEqual(model.getWeights().map(values));
    const x = batch(9);
    expect(values(loaded.predict(x) as tf.Tensor)).toEqual(values(model.predict(x) as tf.Tensor));
    train(model, 2);
    train(loaded, 2);
    expect(loaded.getWeights().map(values)).toEqual(model.getWeights().map(values));
  });
});
