// prepareQat on the CPU backend (the WASM backend's conv training kernels are tested in tests/engine).
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../../src/core/tf.js';
import { QatLinear } from '../../../src/core/qat/layers/qatLinear.js';
import { applySchedule, qatLayers, setQatMode } from '../../../src/core/qat/mode.js';
import { prepareQat, QatConfigError, UnsupportedModelError } from '../../../src/core/qat/prepare.js';
import { convert } from '../../../src/core/convert/index.js';
import { runIntModel } from '../../../src/core/intref/index.js';
import { useBackend } from '../../support/backends.js';

beforeAll(() => useBackend('cpu'));

function cnn(seed = 1): tfl.LayersModel {
  const init = (s: number) => tfl.initializers.glorotUniform({ seed: seed * 100 + s });
  return tfl.sequential({
    name: 'cnn',
    layers: [
      tfl.layers.conv2d({ inputShape: [12, 12, 1], filters: 4, kernelSize: 3, name: 'conv1', kernelInitializer: init(1) }),
      tfl.layers.batchNormalization({ name: 'bn1' }),
      tfl.layers.reLU({ name: 'relu1' }),
      tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }),
      tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', name: 'dw', depthwiseInitializer: init(2) }),
      tfl.layers.batchNormalization({ name: 'bn2' }),
      tfl.layers.activation({ activation: 'relu6', name: 'relu6' }),
      tfl.layers.flatten({ name: 'flat' }),
      tfl.layers.dense({ units: 5, name: 'logits', kernelInitializer: init(3) }),
    ],
  });
}

/** Gives BN layers non-trivial statistics so folding is actually exercised. */
function randomiseBatchNorm(model: tfl.LayersModel): void {
  for (const l of model.layers.filter((x) => x.getClassName() === 'BatchNormalization')) {
    const n = l.getWeights()[0]!.shape[0]!;
    l.setWeights([tf.randomUniform([n], 0.5, 1.5, 'float32', 3), tf.randomUniform([n], -0.2, 0.2, 'float32', 4), tf.randomUniform([n], -0.3, 0.3, 'float32', 5), tf.randomUniform([n], 0.5, 2, 'float32', 6)]);
  }
}

const x = () => tf.randomUniform([6, 12, 12, 1], 0, 1, 'float32', 9);

describe('prepareQat', () => {
  it('fuses Conv+BN+ReLU, passes data movers through, and reports every layer', () => {
    const { model, layers } = prepareQat(cnn());
    expect(model.layers.map((l) => `${l.name}:${l.getClassName()}`)).toEqual([
      'conv1_input:InputLayer',
      'conv1_input_quant:QatQuantize',
      'conv1:QatLinear',
      'pool1:MaxPooling2D',
      'dw:QatLinear',
      'flat:Flatten',
      'logits:QatLinear',
    ]);
    expect(layers.find((l) => l.name === 'conv1')).toEqual({ name: 'conv1', className: 'Conv2D', treatment: 'quantized', with: ['bn1', 'relu1'], weightBits: 8, perChannel: true });
    expect(layers.find((l) => l.name === 'relu6')).toMatchObject({ treatment: 'fused', with: ['dw'] });
    expect(layers.find((l) => l.name === 'logits')).toMatchObject({ perChannel: false });
    expect(layers.find((l) => l.name === 'pool1')).toMatchObject({ treatment: 'passthrough' });
  });

  it('folds BN exactly: at inference the QAT layer computes conv(x, fq(w*s)) + beta + (b - mean)*s', () => {
    const float = cnn();
    randomiseBatchNorm(float);
    const { model } = prepareQat(float);
    const input = x();
    // The first QAT layer after the (unobserved, so float) input quantizer, against a hand-folded conv.
    const conv = model.getLayer('conv1') as QatLinear;
    const got = conv.apply(input) as tf.Tensor;
    const [k, b] = float.getLayer('conv1').getWeights();
    const [gamma, beta, mean, variance] = float.getLayer('bn1').getWeights();
    const s = tf.div(gamma!, tf.sqrt(tf.add(variance!, 1e-3)));
    const w = tf.mul(k!, s);
    const absMax = tf.max(tf.abs(w), [0, 1, 2]);
    const scale = tf.div(absMax, 127);
    const wq = tf.mul(tf.round(tf.div(w, scale)), scale);
    const expected = tf.relu(tf.add(tf.conv2d(input as tf.Tensor4D, wq as tf.Tensor4D, 1, 'valid'), tf.add(beta!, tf.mul(tf.sub(b!, mean!), s))));
    expect(tf.max(tf.abs(tf.sub(got, expected))).dataSync()[0]).toBeLessThan(2e-5);
    // And the whole QAT model, before any range is observed, is the float model up to weight rounding.
    const diff = tf.max(tf.abs(tf.sub(model.predict(input) as tf.Tensor, float.predict(input) as tf.Tensor))).dataSync()[0]!;
    expect(diff).toBeGreaterThan(0);
    expect(diff).toBeLessThan(0.02);
  });

  it('training mode: BN uses batch statistics and updates its running ones; frozen BN does neither', () => {
    const float = cnn();
    const { model } = prepareQat(float);
    const conv = model.getLayer('conv1') as QatLinear;
    const w = conv.weightsByRole();
    const before = w.movingMean!.read().dataSync().slice();
    tf.tidy(() => model.apply(x(), { training: true }) as tf.Tensor);
    const after = w.movingMean!.read().dataSync().slice();
    expect(after).not.toEqual(before);
    applySchedule(model, 3, { freezeBatchNormAtEpoch: 2 });
    tf.tidy(() => model.apply(x(), { training: true }) as tf.Tensor);
    expect(w.movingMean!.read().dataSync()).toEqual(after);
  });

  it('observes activation ranges: first batch sets them, EMA (decay 0.999) after, frozen keeps them', () => {
    const { model } = prepareQat(cnn(), { emaDecay: 0.999 });
    const q = model.getLayer('conv1_input_quant');
    const range = () => q.getWeights().map((t) => t.dataSync()[0]);
    const a = tf.fill([2, 12, 12, 1], 0.5);
    const b = tf.fill([2, 12, 12, 1], 2);
    tf.tidy(() => model.apply(tf.concat([a, tf.mul(a, -1)]), { training: true }) as tf.Tensor);
    expect(range()).toEqual([-0.5, 0.5, 1]);
    tf.tidy(() => model.apply(b, { training: true }) as tf.Tensor);
    const [min, max] = range();
    expect(min).toBeCloseTo(0.999 * -0.5 + 0.001 * 2, 6);
    expect(max).toBeCloseTo(0.999 * 0.5 + 0.001 * 2, 6);
    applySchedule(model, 1, { freezeObserversAtEpoch: 1 });
    tf.tidy(() => model.apply(tf.mul(b, 10), { training: true }) as tf.Tensor);
    expect(range()[1]).toBeCloseTo(max!, 7);
  });

  it('refuses unsupported layers by name and class, or keeps them in float when allowed', () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.dense({ inputShape: [6], units: 4, name: 'd1' }),
        tfl.layers.layerNormalization({ name: 'ln' }),
        tfl.layers.dense({ units: 3, name: 'd2', activation: 'softsign' }),
      ],
    });
    const err = (() => {
      try {
        prepareQat(model);
      } catch (e) {
        return e as UnsupportedModelError;
      }
      throw new Error('expected a refusal');
    })();
    expect(err).toBeInstanceOf(UnsupportedModelError);
    expect(err.layers).toEqual([
      { name: 'ln', className: 'LayerNormalization', reason: 'layer type has no int8 equivalent here' },
      { name: 'd2', className: 'Dense', reason: "activation 'softsign' is not supported" },
    ]);
    const { layers } = prepareQat(model, { allowFloatFallback: true });
    expect(layers.filter((l) => l.treatment === 'float').map((l) => l.name)).toEqual(['ln', 'd2']);
    const { layers: overridden } = prepareQat(model, { layers: { ln: { float: true }, d2: { float: true }, d1: { weightBits: 4 } } });
    expect(overridden.find((l) => l.name === 'd1')).toMatchObject({ weightBits: 4 });
    expect(() => prepareQat(model, { layers: { nope: { float: true } } })).toThrow(QatConfigError);
    expect(() => prepareQat(model, { weightBits: 9, activationBits: 12 })).toThrow(/weight_bits must be an integer from 2 to 8, got 9; activation_bits must be 8 or 16, got 12/);
  });

  it('keeps a separable convolution\'s depth multiplier (tfjs-layers leaves it out of getConfig)', () => {
    const model = tfl.sequential({ layers: [tfl.layers.separableConv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, depthMultiplier: 2, name: 'sep' })] });
    const { model: qat } = prepareQat(model);
    expect((qat.getLayer('sep') as QatLinear).args.depthMultiplier).toBe(2);
    expect((qat.predict(tf.ones([1, 8, 8, 3])) as tf.Tensor).shape).toEqual([1, 6, 6, 4]);
  });

  it('inference leaks no tensors whether activations are quantized, float, calibrating or unobserved', () => {
    const { model } = prepareQat(cnn());
    const input = x();
    const leak = () => {
      const before = tf.memory().numTensors;
      tf.dispose(model.predict(input) as tf.Tensor);
      return tf.memory().numTensors - before;
    };
    expect(leak()).toBe(0); // never observed: float pass-through
    tf.tidy(() => model.apply(input, { training: true }) as tf.Tensor);
    expect(leak()).toBe(0);
    setQatMode(model, { activationQuantization: false });
    expect(leak()).toBe(0);
    setQatMode(model, { calibrationSink: () => undefined });
    expect(leak()).toBe(0);
  });

  it('a Dense softmax head becomes the quantized layer plus a softmax on its fixed int8 range', () => {
    const head = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 3, activation: 'softmax', name: 'probs' })] });
    const { model } = prepareQat(head);
    expect(model.layers.map((l) => l.name)).toEqual(['probs_input', 'probs_input_quant', 'probs', 'probs_softmax', 'probs_softmax_quant']);
    const p = (model.predict(tf.tensor2d([[1, -2, 0.5, 3]])) as tf.Tensor).dataSync();
    const f = (head.predict(tf.tensor2d([[1, -2, 0.5, 3]])) as tf.Tensor).dataSync();
    p.forEach((v, i) => expect(Math.abs(v - f[i]!)).toBeLessThan(1 / 256 + 0.02));
    // Observed, it converts, and the integer reference gives the same probabilities.
    const xs = tf.randomNormal([64, 4], 0, 1, 'float32', 3);
    tf.tidy(() => model.apply(xs, { training: true }) as tf.Tensor);
    const sim = (model.predict(xs) as tf.Tensor).dataSync();
    const ref = runIntModel(convert(model), xs.dataSync() as Float32Array, 64);
    ref.forEach((v, i) => expect(Math.abs(v - sim[i]!)).toBeLessThanOrEqual(1 / 256 + 1e-6));
  });

  it('per-layer overrides on layers that would be fused are honoured', () => {
    const bnFloat = prepareQat(cnn(), { layers: { bn1: { float: true } } }).layers;
    expect(bnFloat.find((l) => l.name === 'conv1')).toMatchObject({ treatment: 'quantized', with: [] });
    expect(bnFloat.find((l) => l.name === 'bn1')).toMatchObject({ treatment: 'float' });
    const reluFloat = prepareQat(cnn(), { layers: { relu1: { float: true } } }).layers;
    expect(reluFloat.find((l) => l.name === 'conv1')).toMatchObject({ with: ['bn1'] });
    expect(reluFloat.find((l) => l.name === 'relu1')).toMatchObject({ treatment: 'float' });
    // The conv kept in float takes its BN into the float island instead of refusing it.
    const convFloat = prepareQat(cnn(), { layers: { conv1: { float: true } } }).layers;
    expect(convFloat.filter((l) => l.treatment === 'float').map((l) => l.name)).toEqual(['conv1', 'bn1']);
    const wide = prepareQat(cnn(), { layers: { relu1: { activationBits: 16 } } }).model;
    expect((wide.getLayer('conv1') as QatLinear).args.output.bits).toBe(16);
  });

  it('weights-only mode leaves activations in float', () => {
    const { model } = prepareQat(cnn());
    tf.tidy(() => model.apply(x(), { training: true }) as tf.Tensor);
    const input = x();
    const full = model.predict(input) as tf.Tensor;
    setQatMode(model, { activationQuantization: false });
    const weightsOnly = model.predict(input) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(full, weightsOnly))).dataSync()[0]).toBeGreaterThan(0);
    expect(qatLayers(model).every((l) => l.mode.activationQuantization === false)).toBe(true);
  });
});

describe('QAT checkpoints', () => {
  async function roundTrip(model: tfl.LayersModel): Promise<tfl.LayersModel> {
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    return tfl.loadLayersModel(tf.io.fromMemory(artifacts!));
  }

  /** SGD steps on fixed seeded batches; returns the live tensor count after each step. */
  function train(model: tfl.LayersModel, steps: number): number[] {
    const opt = tf.train.sgd(0.05);
    const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 0], 'int32'), 5));
    const counts: number[] = [];
    for (let i = 0; i < steps; i++) {
      const loss = opt.minimize(
        () => tf.tidy(() => tf.losses.softmaxCrossEntropy(labels, model.apply(tf.randomUniform([6, 12, 12, 1], 0, 1, 'float32', 20 + i), { training: true }) as tf.Tensor)) as tf.Scalar,
        true,
      );
      if (loss) loss.dispose();
      counts.push(tf.memory().numTensors);
    }
    labels.dispose();
    opt.dispose();
    return counts;
  }

  it('survive save/load with every weight and range, and training resumes bit for bit', async () => {
    const { model } = prepareQat(cnn());
    train(model, 2);
    const loaded = await roundTrip(model);
    expect(loaded.layers.map((l) => l.getClassName())).toEqual(model.layers.map((l) => l.getClassName()));
    const a = model.getWeights().map((t) => Array.from(t.dataSync()));
    expect(loaded.getWeights().map((t) => Array.from(t.dataSync()))).toEqual(a);
    const input = x();
    expect(Array.from((loaded.predict(input) as tf.Tensor).dataSync())).toEqual(Array.from((model.predict(input) as tf.Tensor).dataSync()));
    train(model, 2);
    train(loaded, 2);
    expect(loaded.getWeights().map((t) => Array.from(t.dataSync()))).toEqual(model.getWeights().map((t) => Array.from(t.dataSync())));
  });

  it('a training step leaks no tensors', () => {
    const { model } = prepareQat(cnn());
    const counts = train(model, 4);
    expect(counts).toHaveLength(4);
    expect(new Set(counts).size).toBe(1);
  });
});
