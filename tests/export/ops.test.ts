// Every IntModel op kind through the three writers, on small models whose ranges were observed on random
// data (as tests/core/intref/parity.test.ts builds them): ORT's int8 outputs against the integer
// reference, the float ONNX against the QAT network without quantization, the TF.js artifact against
// the dequantized reference.
//
// Where ORT fuses (QLinearConv/QGemm/QLinearAdd/QLinearAveragePool/QLinearConcat) the reference is
// built to predict its integers exactly. Ops ORT runs as DequantizeLinear → float op → QuantizeLinear
// (Mean, Max/Min, GlobalMaxPool, Sum of 3) or fuses with tables of its own (QLinearSoftmax,
// QLinearLeakyRelu for the float island) round a float computed in another order than the reference's,
// so an output may move by one step where a value sits exactly on a rounding boundary; the bounds allow
// that, though every case here came out bit-exact when written.
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convert, type IntModel } from '../../src/core/convert/index.js';
import { evaluateFloatModel, runIntModel } from '../../src/core/intref/index.js';
import type { QatConfig } from '../../src/core/qat/config.js';
import { qatLayers, setQatMode } from '../../src/core/qat/mode.js';
import * as tf from '../../src/core/tf.js';
import { compareOutputs, createSession, exportFloatOnnx, exportOnnx, exportTfjsInt8, foldedFloatWeights, runAll } from '../../src/export/index.js';
import { bn, conv, dense, observe, prepareObserved, randomizeBatchNorm, relu, uniform } from '../core/intref/models.js';
import { MIN_WIDENED_FILTERS } from '../../src/export/onnx/int8Lowering.js';
import { decodeModel } from '../../src/export/onnx/proto.js';
import { initializer, optimizedOps } from './support/onnxGraph.js';
import { predictAll } from './support/predict.js';
import { artifactFiles, loadFromFiles } from './support/tfjsFiles.js';

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

/** Add of two conv branches, a standalone ReLU (table), average pool with padding, concat with a max-pool branch, GAP. */
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

/** A float island (LeakyReLU), Average and Maximum, a sigmoid table, global max pool, reshape, a per-row dense, softmax output. */
function miscModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [6, 6, 3], name: 'x' });
  const c = conv(input, 'c', 6, 3, 41, { padding: 'same' });
  const leaky = tfl.layers.leakyReLU({ name: 'leaky', alpha: 0.2 }).apply(c) as ST;
  const sig = tfl.layers.activation({ name: 'sig', activation: 'sigmoid' }).apply(c) as ST;
  const avg = tfl.layers.average({ name: 'mean' }).apply([leaky, sig]) as ST;
  const max = tfl.layers.maximum({ name: 'max' }).apply([avg, c]) as ST;
  const pooled = tfl.layers.globalMaxPooling2d({ name: 'gmp' }).apply(max) as ST;
  const rows = tfl.layers.reshape({ name: 'rows', targetShape: [2, 3] }).apply(pooled) as ST;
  const perRow = tfl.layers.flatten({ name: 'flat' }).apply(dense(rows, 'per_row', 5, 43, 'relu')) as ST;
  const probs = tfl.layers.softmax({ name: 'probs' }).apply(dense(perRow, 'logits', 4, 42)) as ST;
  return tfl.model({ name: 'misc', inputs: input, outputs: probs });
}

/** Layout changes: a reshape to another image shape before a conv, a Dense on an NHWC tensor, Minimum, a 3-input Add. */
function layoutModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [6, 6, 2], name: 'x' });
  const c1 = conv(input, 'c1', 4, 3, 51, { padding: 'same' });
  const r = tfl.layers.reshape({ name: 'tall', targetShape: [3, 12, 4] }).apply(c1) as ST;
  const c2 = conv(r, 'c2', 4, 1, 52);
  const pix = dense(c2, 'pix', 4, 53, 'relu');
  const m = tfl.layers.minimum({ name: 'min' }).apply([c2, pix]) as ST;
  const s = tfl.layers.add({ name: 'sum3' }).apply([c2, pix, m]) as ST;
  const g = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(s) as ST;
  return tfl.model({ name: 'layout', inputs: input, outputs: dense(g, 'logits', 3, 54) });
}

/** Layers kept in float: a Conv2D and a Dense by override, a ReLU capped at 3 and an ELU by fallback. */
function floatIslandsModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [8, 8, 2], name: 'x' });
  let x = conv(input, 'fc_conv', 6, 3, 81, { padding: 'same', activation: 'relu' });
  x = tfl.layers.reLU({ name: 'cap3', maxValue: 3 }).apply(x) as ST;
  x = conv(x, 'c2', 4, 3, 82, { strides: 2 });
  x = tfl.layers.elu({ name: 'elu' }).apply(x) as ST;
  x = tfl.layers.flatten({ name: 'flat' }).apply(x) as ST;
  x = dense(x, 'fc_dense', 8, 83, 'relu');
  return tfl.model({ name: 'islands', inputs: input, outputs: dense(x, 'logits', 3, 84) });
}

/** A first conv on 3 channels with 32 filters: written reading its input repeated to 12 channels (int8Lowering.ts). */
function wideStemModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [8, 8, 3], name: 'x' });
  const x = conv(input, 'wide', 32, 3, 91, { padding: 'same', activation: 'relu' });
  const g = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(conv(x, 'c2', 8, 3, 92, { strides: 2 })) as ST;
  return tfl.model({ name: 'wide', inputs: input, outputs: dense(g, 'logits', 3, 93) });
}

/** Dense layers with per-channel weights (perChannelDense) and a dropout that vanishes. */
function mlpModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [20], name: 'features' });
  let x = dense(input, 'fc1', 32, 61, 'relu');
  x = tfl.layers.dropout({ name: 'drop', rate: 0.2, seed: 69 }).apply(x) as ST;
  x = dense(x, 'fc2', 16, 62, 'relu');
  return tfl.model({ name: 'mlp', inputs: input, outputs: dense(x, 'logits', 5, 63) });
}

interface Case {
  name: string;
  build: () => tfl.LayersModel;
  samples: number;
  config?: Partial<QatConfig>;
  /** IntModel op kinds the case must exercise. */
  kinds: string[];
  /** ORT integer kernels the int8 graph must be fused into. */
  fused: string[];
}

const CASES: Case[] = [
  { name: 'depthwise ×2 + BN + ReLU6, GAP', build: depthwiseModel, samples: 400, kinds: ['depthwise', 'globalavgpool'], fused: ['com.microsoft.QLinearConv', 'com.microsoft.QLinearGlobalAveragePool'] },
  { name: 'separable split in two', build: separableModel, samples: 400, kinds: ['depthwise', 'conv2d', 'flatten'], fused: ['com.microsoft.QLinearConv', 'com.microsoft.QGemm'] },
  { name: 'add, ReLU table, avg-pool, concat, max-pool', build: branchesModel, samples: 400, kinds: ['add', 'activation', 'avgpool', 'maxpool', 'concat'], fused: ['com.microsoft.QLinearAdd', 'com.microsoft.QLinearAveragePool', 'com.microsoft.QLinearConcat'] },
  { name: 'float island, average, maximum, sigmoid, global max, per-row dense, softmax', build: miscModel, samples: 400, config: { allowFloatFallback: true }, kinds: ['float', 'average', 'maximum', 'activation', 'globalmaxpool', 'reshape', 'dense', 'softmax'], fused: ['com.microsoft.QLinearConv', 'com.microsoft.QGemm'] },
  { name: 'reshape to an image, dense on NHWC, minimum, 3-input add', build: layoutModel, samples: 400, kinds: ['reshape', 'dense', 'minimum', 'add'], fused: ['com.microsoft.QLinearConv', 'com.microsoft.QGemm'] },
  {
    name: 'float islands: Conv2D and Dense overrides, capped ReLU, ELU',
    build: floatIslandsModel,
    samples: 400,
    config: { allowFloatFallback: true, layers: { fc_conv: { float: true }, fc_dense: { float: true } } },
    kinds: ['float', 'conv2d', 'dense', 'flatten'],
    fused: ['com.microsoft.QLinearConv', 'com.microsoft.QGemm'],
  },
  { name: 'wide first conv on 3 channels', build: wideStemModel, samples: 400, kinds: ['conv2d', 'globalavgpool', 'dense'], fused: ['com.microsoft.QLinearConv', 'com.microsoft.QGemm'] },
  { name: 'per-channel dense', build: mlpModel, samples: 1000, config: { perChannelDense: true }, kinds: ['dense'], fused: ['com.microsoft.QGemm'] },
];

describe.each(CASES)('$name', (c) => {
  let model: tfl.LayersModel;
  let im: IntModel;
  let x: Float32Array;
  let inputShape: number[];
  let step: number;
  beforeAll(() => {
    const float = c.build();
    const prepared = prepareObserved(float, { batches: 4, batch: 64, lo: -1, hi: 1, ...(c.config ? { config: c.config } : {}) });
    model = prepared.model;
    inputShape = prepared.inputShape;
    const per = inputShape.reduce((a, b) => a * b, 1);
    observe(model, [0, 1, 2].map((i) => uniform(64 * per, 500 + i, -1, 1)), inputShape);
    setQatMode(model, { observersFrozen: true });
    im = convert(model);
    x = uniform(c.samples * per, 900, -1, 1);
    const last = im.ops[im.ops.length - 1]!;
    step = im.tensors[last.inputs[0]!]!.quant!.scale[0]!;
  });
  afterAll(() => model.dispose());

  it('converts to the op kinds under test and ORT fuses them into integer kernels', async () => {
    const kinds = new Set(im.ops.map((o) => o.kind));
    for (const k of c.kinds) expect(kinds).toContain(k);
    const ops = await optimizedOps(exportOnnx(im, { variant: 'int8' }));
    for (const k of c.fused) expect(ops).toContain(k);
    // Integer kernels for exactly the IntModel's int8 convolutions and dense layers: none left in float,
    // and no float island quantized behind the user's back (ORT's WeightBiasQuantization would).
    const count = (name: string) => ops.filter((o) => o === name).length;
    expect(count('com.microsoft.QLinearConv')).toBe(im.ops.filter((o) => o.kind === 'conv2d' || o.kind === 'depthwise').length);
    expect(count('com.microsoft.QGemm')).toBe(im.ops.filter((o) => o.kind === 'dense').length);
  });

  it('ORT int8 outputs agree with the integer reference', async () => {
    const ref = runIntModel(im, x, c.samples);
    const a = compareOutputs(await ortRun(exportOnnx(im, { variant: 'int8' }), x, inputShape), ref, ref.length / c.samples, true);
    console.log(`${c.name}: argmax ${a.agreement}, ${(100 * a.differing).toFixed(2)}% of outputs differ, max |Δ| ${(a.maxAbsLogitDiff / step).toFixed(2)} steps`);
    expect(a.agreement).toBeGreaterThanOrEqual(0.99);
    expect(a.maxAbsLogitDiff).toBeLessThanOrEqual(2 * step + 1e-7);
    expect(a.differing).toBeLessThan(0.05);
  });

  it('the float ONNX equals the QAT network without quantization', async () => {
    const saved = qatLayers(model).map((l) => [l, { ...l.mode }] as const);
    setQatMode(model, { activationQuantization: false, weightQuantization: false });
    const expected = predictAll(model, x, inputShape);
    for (const [layer, mode] of saved) layer.mode = mode;
    const bytes = exportFloatOnnx(im, foldedFloatWeights(im, model));
    const got = await ortRun(bytes, x, inputShape);
    const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const a = compareOutputs(got, expected, got.length / c.samples, true);
    expect(a.maxAbsLogitDiff).toBeLessThanOrEqual(1e-4 * Math.max(1, scale));
  });

  it('the TF.js artifact matches the dequantized reference to 1e-5', async () => {
    const before = tf.memory().numTensors;
    const artifact = await exportTfjsInt8(im);
    expect(tf.memory().numTensors).toBe(before); // the model built to serialize it is disposed
    const loaded = await loadFromFiles(artifactFiles(artifact));
    const got = predictAll(loaded, x, inputShape);
    loaded.dispose();
    const expected = evaluateFloatModel(im, [x], c.samples, { quantizeActivations: false }).outputs[0]!;
    const a = compareOutputs(got, expected, got.length / c.samples, true);
    expect(a.maxAbsLogitDiff).toBeLessThanOrEqual(1e-5);
  });
});

async function ortRun(bytes: Uint8Array, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const s = await createSession(bytes);
  try {
    return await runAll(s, x, shape, 256);
  } finally {
    await s.release();
  }
}

describe("activationType 'int8' (the IntModel's own int8 tensors, as ARM builds of ORT fuse them)", () => {
  it('stores the IntModel zero points unshifted and still computes the integer reference', async () => {
    const prepared = prepareObserved(branchesModel(), { batches: 4, batch: 64, lo: -1, hi: 1 });
    setQatMode(prepared.model, { observersFrozen: true });
    const im = convert(prepared.model);
    const bytes = exportOnnx(im, { variant: 'int8', activationType: 'int8' });
    const m = decodeModel(bytes);
    const q = m.graph!.node!.find((n) => n.opType === 'QuantizeLinear' && n.output![0] === 'add')!;
    const zp = m.graph!.initializer!.find((t) => t.name === q.input![2])!;
    expect(zp.dataType).toBe(3); // INT8
    expect(new Int8Array(zp.rawData!.buffer, zp.rawData!.byteOffset, 1)[0]).toBe(im.tensors.add!.quant!.zeroPoint[0]);
    expect(m.graph!.node!.some((n) => n.opType === 'Gather')).toBe(true); // the ReLU table, indexed by q + 128
    const x = uniform(200 * 162, 77, -1, 1);
    const a = compareOutputs(await ortRun(bytes, x, prepared.inputShape), runIntModel(im, x, 200), 3, true);
    expect(a.agreement).toBeGreaterThanOrEqual(0.99);
    expect(a.maxAbsLogitDiff).toBeLessThanOrEqual(2 * im.tensors.logits!.quant!.scale[0]! + 1e-7);
    prepared.model.dispose();
  });
});

describe('compact int8 graph: forms chosen per layer', () => {
  it(`a conv on fewer than 4 input channels with ${MIN_WIDENED_FILTERS}+ filters stores its weights as they are, padded in the graph`, () => {
    const prepared = prepareObserved(wideStemModel(), { batches: 4, batch: 64, lo: -1, hi: 1 });
    setQatMode(prepared.model, { observersFrozen: true });
    const im = convert(prepared.model);
    prepared.model.dispose();
    const m = decodeModel(exportOnnx(im, { variant: 'int8' }));
    const g = m.graph!;
    const w = g.initializer!.find((t) => t.name === 'wide/w')!;
    expect(w.dims!.map(Number)).toEqual([32, 3, 3, 3]);
    const pad = g.node!.find((n) => n.input![0] === 'wide/w')!;
    expect(pad.opType).toBe('Pad');
    expect(Array.from(initializer(m, pad.input![1]!).values as BigInt64Array, Number)).toEqual([0, 0, 0, 0, 0, 9, 0, 0]);
    const conv = g.node!.find((n) => n.opType === 'Conv' && n.output![0] === 'wide/conv')!;
    const xDq = g.node!.find((n) => n.output![0] === conv.input![0])!;
    const copies = g.node!.find((n) => n.output![0] === xDq.input![0])!;
    expect([copies.opType, new Set(copies.input).size, copies.input!.length]).toEqual(['Concat', 1, 4]);
    // The second conv (32 input channels) and the narrow ones elsewhere are written as they are.
    expect(g.node!.filter((n) => n.opType === 'Pad' || n.opType === 'Concat')).toHaveLength(2);
  });

  it('a bias float32 cannot carry exactly stays an int32 DequantizeLinear (per-channel scale: the Mul it equals) and ORT still computes the integer reference', async () => {
    const prepared = prepareObserved(branchesModel(), { batches: 4, batch: 64, lo: -1, hi: 1 });
    setQatMode(prepared.model, { observersFrozen: true });
    const im = convert(prepared.model);
    // Beyond 2^24 an int32 is not a float32: ORT would requantize fround(q · s) to another integer.
    const bias = (layer: string) => im.tensors[im.ops.find((o) => o.name === layer)!.inputs[2]!]!.data as Int32Array;
    bias('a')[0] = 2 ** 24 + 1;
    bias('logits')[1] = -(2 ** 24 + 3);
    const bytes = exportOnnx(im, { variant: 'int8' });
    const g = decodeModel(bytes).graph!;
    const init = (name: string) => g.initializer!.find((t) => t.name === name);
    const producerOf = (value: string) => g.node!.find((n) => n.output!.includes(value))!;
    for (const layer of ['a', 'logits']) {
      expect(init(`${layer}/b`)!.dataType).toBe(6); // INT32
      const dq = g.node!.find((n) => n.input![0] === `${layer}/b`)!;
      expect([dq.opType, dq.input!.length]).toEqual(['DequantizeLinear', 2]);
      expect(g.node!.find((n) => n.opType === 'Conv' || n.opType === 'Gemm' ? n.input![2] === dq.output![0] : false)).toBeDefined();
    }
    expect(producerOf('a/b/s')).toMatchObject({ opType: 'Mul', input: ['stem/s', 'a/w/s'] });
    expect(init('logits/b/s')!.dims).toEqual([]); // per-tensor dense weights: one scale
    // The untouched layers keep the compact form: the float32 values ORT requantizes exactly.
    expect(init('b/b')!.dataType).toBe(1);
    const ops = await optimizedOps(bytes);
    expect(ops.filter((o) => o === 'com.microsoft.QLinearConv')).toHaveLength(3);
    expect(ops).toContain('com.microsoft.QGemm');
    const x = uniform(200 * 162, 78, -1, 1);
    const a = compareOutputs(await ortRun(bytes, x, prepared.inputShape), runIntModel(im, x, 200), 3, true);
    expect([a.agreement, a.maxAbsLogitDiff]).toEqual([1, 0]);
    prepared.model.dispose();
  });
});
