// The integer reference against the QAT simulation for LSQ models: learned weight steps, learned
// activation steps, and both. Activation steps start on the first training batch; a few optimizer steps
// (BN frozen) then move every step off its initial value, so the deployed scales are learned ones.
// Residual differences are the rounding-boundary cases parity.test.ts explains.
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../../src/core/tf.js';
import { convert, type IntModel } from '../../../src/core/convert/index.js';
import { runFloatModel, runIntModel } from '../../../src/core/intref/index.js';
import type { QatConfig } from '../../../src/core/qat/config.js';
import { QatLinear } from '../../../src/core/qat/layers/qatLinear.js';
import { QatQuantize } from '../../../src/core/qat/layers/qatQuantize.js';
import { agreement, bn, buildCnn, buildMlp, dense, normal, observe, prepareObserved, randomizeBatchNorm, relu, simulate, uniform } from './models.js';

type ST = tfl.SymbolicTensor;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Separable (+ BN + ReLU6, signed intermediate), depthwise (+ BN + ReLU), an Add of two branches, GAP. */
function mobileModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [10, 10, 3], name: 'x' });
  const glorot = (seed: number) => tfl.initializers.glorotUniform({ seed });
  let x = tfl.layers.separableConv2d({ name: 'sep', filters: 8, kernelSize: 3, padding: 'same', depthwiseInitializer: glorot(21), pointwiseInitializer: glorot(22) }).apply(input) as ST;
  x = relu(bn(x, 'bn1'), 'relu6a', 6);
  const dw = tfl.layers.depthwiseConv2d({ name: 'dw', kernelSize: 3, padding: 'same', depthwiseInitializer: glorot(23) }).apply(x) as ST;
  const branch = relu(bn(dw, 'bn2'), 'relub');
  x = tfl.layers.add({ name: 'add' }).apply([x, branch]) as ST;
  x = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as ST;
  const model = tfl.model({ name: 'mobile', inputs: input, outputs: dense(x, 'logits', 5, 25) });
  randomizeBatchNorm(model, 26);
  return model;
}

/** A few Adam steps on random labels in training mode (BN frozen by prepareObserved). */
function trainFew(model: tfl.LayersModel, inputShape: number[], classes: number, steps: number, batch: number, seed: number): void {
  const per = inputShape.reduce((a, b) => a * b, 1);
  // Small: Adam moves every variable by ~lr a step, and steps start around 1e-3..1e-2.
  const opt = tf.train.adam(2e-4);
  for (let i = 0; i < steps; i++) {
    tf.tidy(() => {
      const x = tf.tensor(uniform(batch * per, seed + i, -1, 1), [batch, ...inputShape]);
      const labels = tf.oneHot(tf.tensor1d(Array.from(uniform(batch, seed + 50 + i), (v) => Math.floor(v * classes)), 'int32'), classes);
      opt.minimize(() => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
    });
  }
  opt.dispose();
}

interface Case {
  name: string;
  build: () => tfl.LayersModel;
  samples: number;
  classes: number;
  inputs: (n: number, seed: number) => Float32Array;
  /** Training batch: the cnn's conv gradients are slow on the CPU backend. */
  trainBatch: number;
}

const MODELS: Case[] = [
  { name: 'mlp', build: () => buildMlp(3), samples: 1000, classes: 5, inputs: (n, s) => normal(n, s), trainBatch: 32 },
  { name: 'cnn', build: () => buildCnn(5), samples: 256, classes: 10, inputs: (n, s) => uniform(n, s), trainBatch: 4 },
  { name: 'separable + depthwise + add', build: mobileModel, samples: 400, classes: 5, inputs: (n, s) => uniform(n, s, -1, 1), trainBatch: 32 },
];

const CONFIGS: { name: string; config: Partial<QatConfig> }[] = [
  { name: 'weight LSQ', config: { weightQuantizer: 'lsq' } },
  { name: 'activation LSQ', config: { activationQuantizer: 'lsq' } },
  { name: 'weight + activation LSQ', config: { weightQuantizer: 'lsq', activationQuantizer: 'lsq' } },
];

const CASES = MODELS.flatMap((m) => CONFIGS.map((c) => ({ ...m, ...c, label: `${m.name}, ${c.name}` })));

describe.each(CASES)('$label', (c) => {
  let model: tfl.LayersModel;
  let im: IntModel;
  let x: Float32Array;
  let sim: Float32Array;
  let step: number;
  beforeAll(() => {
    const float = c.build();
    const per = (float.inputs[0]!.shape as number[]).slice(1).reduce((a, b) => a * b, 1);
    const prepared = prepareObserved(float, { batches: 2, batch: 64, config: c.config, lo: -1, hi: 1 });
    model = prepared.model;
    trainFew(model, prepared.inputShape, c.classes, 5, c.trainBatch, 300);
    observe(model, [0, 1, 2].map((i) => c.inputs(64 * per, 500 + i)), prepared.inputShape);
    im = convert(model);
    x = c.inputs(c.samples * per, 900);
    sim = simulate(model, x, prepared.inputShape);
    const last = im.ops[im.ops.length - 1]!;
    step = im.tensors[last.inputs[0]!]!.quant!.scale[0]!;
  });

  it('deploys the learned steps as scales', () => {
    for (const layer of model.layers) {
      if (layer instanceof QatLinear) {
        const w = layer.weightsByRole();
        const kind = layer.args.kind;
        const weight = im.tensors[kind === 'separable' ? `${layer.name}/depthwise/weight` : `${layer.name}/weight`]!;
        if (c.config.weightQuantizer === 'lsq') expect(weight.quant!.scale).toEqual(Array.from(w.kernelStep!.read().dataSync()));
        if (kind === 'separable' && c.config.weightQuantizer === 'lsq') {
          expect(im.tensors[`${layer.name}/pointwise/weight`]!.quant!.scale).toEqual(Array.from(w.pointwiseStep!.read().dataSync()));
        }
        if (c.config.activationQuantizer === 'lsq') {
          const out = im.tensors[layer.name]!.quant!;
          expect(out.scale).toEqual([w.out.step!.read().dataSync()[0]]);
          expect(out.zeroPoint).toEqual([layer.args.output.signed ? 0 : -128]);
          if (kind === 'separable') expect(im.tensors[`${layer.name}/depthwise`]!.quant).toMatchObject({ scale: [w.mid!.step!.read().dataSync()[0]], zeroPoint: [0] });
        }
      } else if (layer instanceof QatQuantize && c.config.activationQuantizer === 'lsq') {
        // The model input's int8 tensor is named after the quantizer, a requantized op's after the op.
        const t = im.tensors[layer.name] ?? im.tensors[layer.name.replace(/_quant$/, '')]!;
        expect(t.quant!.scale).toEqual([layer.rangeVars().step!.read().dataSync()[0]]);
      }
    }
  });

  it('integer reference agrees with the simulation', () => {
    const int = runIntModel(im, x, c.samples);
    const a = agreement(int, sim, c.classes, step);
    console.log(`LSQ ${c.label}: argmax ${(100 * a.argmax).toFixed(2)}%, max |Δ| ${a.maxSteps.toFixed(3)} steps, ${(100 * a.differing).toFixed(2)}% of outputs differ`);
    expect(a.argmax).toBeGreaterThanOrEqual(0.99);
    expect(a.maxSteps).toBeLessThanOrEqual(2 + 1e-3);
    // LSQ's initial weight step 2·mean|w|/sqrt(127) is several times max|w|/127, so M = s_in·s_w/s_out and
    // with it the int32 bias rounding (up to M/2 output steps) grow: more one-step flips than with max|w|.
    expect(a.differing).toBeLessThan(c.config.weightQuantizer === 'lsq' ? 0.25 : 0.1);
  });

  it('the float evaluation of the deployed math sits with both (the flips are deployment rounding)', () => {
    const int = runIntModel(im, x, c.samples);
    const fl = runFloatModel(im, x, c.samples);
    const vsSim = agreement(fl, sim, c.classes, step);
    const vsInt = agreement(fl, int, c.classes, step);
    console.log(`LSQ ${c.label}: float eval vs int ${(100 * vsInt.differing).toFixed(2)}% differ (max ${vsInt.maxSteps.toFixed(3)}), vs sim ${(100 * vsSim.differing).toFixed(2)}% (max ${vsSim.maxSteps.toFixed(3)})`);
    expect(vsSim.maxSteps).toBeLessThanOrEqual(2 + 1e-3);
    expect(vsInt.maxSteps).toBeLessThanOrEqual(1 + 1e-3);
    expect(vsInt.differing).toBeLessThan(0.02);
  });
});
