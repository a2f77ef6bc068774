// The integer reference against the QAT model's fake-quant simulation (model.predict), on models covering
// every op kind, after ranges were observed in training mode with BN frozen.
//
// Residual differences are rounding-boundary cases, not conversion errors: the simulation accumulates in
// float32 (with BN un-folded around the conv), keeps the bias in float and rounds half up; the runtime
// accumulates exactly in int32, quantizes the bias to input_scale · weight_scale (an error of at most half
// that, i.e. M/2 output steps) and rounds half to even. A value that lands within ~1e-3 of a step of a
// rounding boundary can go either way; the flip is one step, and downstream layers move by a fraction of a
// step per flipped input. The float evaluation of the deployed math (folded, quantized bias, half to even)
// isolates this: it agrees with the simulation as the integer reference does, and with the integer
// reference almost everywhere.
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../../src/core/tf.js';
import { convert, type IntModel } from '../../../src/core/convert/index.js';
import { runFloatModel, runIntModel } from '../../../src/core/intref/index.js';
import { agreement, bn, buildCnn, buildMlp, conv, dense, normal, observe, prepareObserved, randomizeBatchNorm, relu, simulate, uniform } from './models.js';
import type { QatConfig } from '../../../src/core/qat/config.js';

type ST = tfl.SymbolicTensor;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function depthwiseModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [12, 12, 3], name: 'x' });
  let x = relu(bn(conv(input, 'conv', 8, 3, 11, { padding: 'same' }), 'bn1'), 'relu6a', 6);
  x = tfl.layers.depthwiseConv2d({ name: 'dw', kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2, depthwiseInitializer: tfl.initializers.glorotUniform({ seed: 12 }) }).apply(x) as ST;
  x = relu(bn(x, 'bn2'), 'relu6b', 6);
  x = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as ST;
  const model = tfl.model({ name: 'dw', inputs: input, outputs: dense(x, 'logits', 4, 13) });
  randomizeBatchNorm(model, 14);
  return model;
}

function separableModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [10, 10, 3], name: 'x' });
  let x = tfl.layers.separableConv2d({ name: 'sep1', filters: 8, kernelSize: 3, padding: 'same', depthwiseInitializer: tfl.initializers.glorotUniform({ seed: 21 }), pointwiseInitializer: tfl.initializers.glorotUniform({ seed: 22 }) }).apply(input) as ST;
  x = relu(bn(x, 'bn1'), 'relu1');
  x = tfl.layers.separableConv2d({ name: 'sep2', filters: 12, kernelSize: 3, strides: 2, activation: 'relu', depthwiseInitializer: tfl.initializers.glorotUniform({ seed: 23 }), pointwiseInitializer: tfl.initializers.glorotUniform({ seed: 24 }) }).apply(x) as ST;
  x = tfl.layers.flatten({ name: 'flat' }).apply(x) as ST;
  const model = tfl.model({ name: 'sep', inputs: input, outputs: dense(x, 'logits', 5, 25) });
  randomizeBatchNorm(model, 26);
  return model;
}

/** Two conv branches added, a standalone ReLU, an average pool with padding, concatenation with a max-pool branch, GAP. */
function branchesModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [9, 9, 2], name: 'x' });
  const stem = conv(input, 'stem', 4, 3, 31, { padding: 'same', activation: 'relu' });
  const a = conv(stem, 'a', 4, 3, 32, { padding: 'same' });
  const b = conv(stem, 'b', 4, 1, 33);
  let x = tfl.layers.add({ name: 'add' }).apply([a, b]) as ST;
  x = tfl.layers.reLU({ name: 'add_relu' }).apply(x) as ST;
  x = tfl.layers.averagePooling2d({ name: 'avg', poolSize: 2, padding: 'same' }).apply(x) as ST;
  const pooled = tfl.layers.maxPooling2d({ name: 'max', poolSize: 2, padding: 'same' }).apply(stem) as ST;
  x = tfl.layers.concatenate({ name: 'cat' }).apply([x, pooled]) as ST;
  x = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as ST;
  return tfl.model({ name: 'branches', inputs: input, outputs: dense(x, 'logits', 3, 34) });
}

/** A float island (LeakyReLU), Average and Maximum merges, a sigmoid table, global max pool, reshape, a per-row dense, softmax output. */
function miscModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [6, 6, 3], name: 'x' });
  const c = conv(input, 'c', 6, 3, 41, { padding: 'same' });
  const leaky = tfl.layers.leakyReLU({ name: 'leaky', alpha: 0.2 }).apply(c) as ST;
  const sig = tfl.layers.activation({ name: 'sig', activation: 'sigmoid' }).apply(c) as ST;
  const avg = tfl.layers.average({ name: 'mean' }).apply([leaky, sig]) as ST;
  const max = tfl.layers.maximum({ name: 'max' }).apply([avg, c]) as ST;
  const pooled = tfl.layers.globalMaxPooling2d({ name: 'gmp' }).apply(max) as ST;
  // Reshape to rows and a dense layer applied per row (rank-3 input).
  const rows = tfl.layers.reshape({ name: 'rows', targetShape: [2, 3] }).apply(pooled) as ST;
  const perRow = tfl.layers.flatten({ name: 'flat' }).apply(dense(rows, 'per_row', 5, 43, 'relu')) as ST;
  const logits = dense(perRow, 'logits', 4, 42);
  const probs = tfl.layers.softmax({ name: 'probs' }).apply(logits) as ST;
  return tfl.model({ name: 'misc', inputs: input, outputs: probs });
}

interface Case {
  name: string;
  build: () => tfl.LayersModel;
  samples: number;
  classes: number;
  inputs: (n: number, seed: number) => Float32Array;
  config?: Partial<QatConfig>;
  ops: string[];
}

const CASES: Case[] = [
  { name: 'mlp (dense only, asymmetric input)', build: () => buildMlp(3), samples: 1000, classes: 5, inputs: (n, s) => normal(n, s), ops: ['dense'] },
  { name: 'cnn (conv + BN + ReLU, max-pool, flatten, dense)', build: () => buildCnn(5), samples: 256, classes: 10, inputs: (n, s) => uniform(n, s), ops: ['conv2d', 'maxpool', 'flatten', 'dense'] },
  { name: 'depthwise ×2 + BN + ReLU6, GAP', build: depthwiseModel, samples: 400, classes: 4, inputs: (n, s) => uniform(n, s, -1, 1), ops: ['depthwise', 'globalavgpool'] },
  { name: 'separable (+ BN) split in two', build: separableModel, samples: 400, classes: 5, inputs: (n, s) => uniform(n, s, -1, 1), ops: ['depthwise', 'conv2d'] },
  { name: 'add of two branches, ReLU table, avg-pool, concat, GAP', build: branchesModel, samples: 400, classes: 3, inputs: (n, s) => uniform(n, s, -1, 1), ops: ['add', 'activation', 'avgpool', 'maxpool', 'concat'] },
  { name: 'float island, average, maximum, sigmoid, global max, softmax', build: miscModel, samples: 400, classes: 4, inputs: (n, s) => uniform(n, s, -1, 1), config: { allowFloatFallback: true }, ops: ['float', 'average', 'maximum', 'activation', 'globalmaxpool', 'reshape', 'dense', 'softmax'] },
];

describe.each(CASES)('$name', (c) => {
  let model: tfl.LayersModel;
  let im: IntModel;
  let x: Float32Array;
  let sim: Float32Array;
  let step: number;
  beforeAll(() => {
    const float = c.build();
    const per = (float.inputs[0]!.shape as number[]).slice(1).reduce((a, b) => a * b, 1);
    const prepared = prepareObserved(float, { batches: 4, batch: 64, ...(c.config ? { config: c.config } : {}), lo: -1, hi: 1 });
    model = prepared.model;
    // Observe on the test distribution (the helper's uniform [-1, 1) or the case's own).
    observe(model, [0, 1, 2].map((i) => c.inputs(64 * per, 500 + i)), prepared.inputShape);
    im = convert(model);
    x = c.inputs(c.samples * per, 900);
    sim = simulate(model, x, prepared.inputShape);
    const last = im.ops[im.ops.length - 1]!;
    step = im.tensors[last.inputs[0]!]!.quant!.scale[0]!;
  });

  it('converts to the expected op kinds', () => {
    const kinds = new Set(im.ops.map((o) => o.kind));
    for (const k of c.ops) expect(kinds).toContain(k);
  });

  it('integer reference agrees with the fake-quant simulation', () => {
    const int = runIntModel(im, x, c.samples);
    const a = agreement(int, sim, c.classes, step);
    console.log(`${c.name}: argmax ${(100 * a.argmax).toFixed(2)}%, max |Δ| ${a.maxSteps.toFixed(3)} steps, ${(100 * a.differing).toFixed(2)}% of outputs differ`);
    expect(a.argmax).toBeGreaterThanOrEqual(0.99);
    expect(a.maxSteps).toBeLessThanOrEqual(2 + 1e-3);
    expect(a.differing).toBeLessThan(0.1);
  });

  it('the float evaluation of the deployed math sits with the simulation and the integer reference', () => {
    const int = runIntModel(im, x, c.samples);
    const fl = runFloatModel(im, x, c.samples);
    const vsSim = agreement(fl, sim, c.classes, step);
    const vsInt = agreement(fl, int, c.classes, step);
    expect(vsSim.maxSteps).toBeLessThanOrEqual(2 + 1e-3);
    expect(vsInt.maxSteps).toBeLessThanOrEqual(1 + 1e-3);
    expect(vsInt.differing).toBeLessThan(0.02);
  });
});

describe('integer reference throughput', () => {
  it('runs 1000 MNIST-sized samples through the cnn in a few seconds', () => {
    const { model } = prepareObserved(buildCnn(2), { batches: 1, batch: 16 });
    const im = convert(model);
    const x = uniform(1000 * 784, 3);
    runIntModel(im, x.subarray(0, 784 * 8), 8); // compile and warm up
    const t0 = performance.now();
    const y = runIntModel(im, x, 1000);
    const ms = performance.now() - t0;
    console.log(`cnn integer reference: ${(ms / 1000).toFixed(2)} ms/sample`);
    expect(y.length).toBe(10_000);
    expect(ms).toBeLessThan(6000);
  });
});
