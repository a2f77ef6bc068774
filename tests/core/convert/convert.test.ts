// The IntModel a prepared model converts to: ops, layouts, parameters, the report, and the refusals.
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../../src/core/tf.js';
import { ConversionError, convert, type IntModel } from '../../../src/core/convert/index.js';
import { QatLinear } from '../../../src/core/qat/layers/qatLinear.js';
import { prepareQat } from '../../../src/core/qat/prepare.js';
import { buildCnn, conv, prepareObserved } from '../intref/models.js';

type ST = tfl.SymbolicTensor;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const issuesOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConversionError);
    return (err as ConversionError).issues;
  }
  throw new Error('expected a ConversionError');
};

describe('the reference cnn', () => {
  let m: IntModel;
  beforeAll(() => {
    m = convert(prepareObserved(buildCnn(), { batches: 2, batch: 8 }).model);
  });

  it('is quantize → conv → maxpool → conv → maxpool → flatten → dense → dequantize', () => {
    expect(m.ops.map((o) => `${o.kind}:${o.name}`)).toEqual([
      'quantize:image_quant',
      'conv2d:conv1',
      'maxpool:pool1',
      'conv2d:conv2',
      'maxpool:pool2',
      'flatten:flatten',
      'dense:logits',
      'dequantize:logits/dequantized',
    ]);
    expect(m.inputs).toEqual(['image']);
    expect(m.outputs).toEqual(['logits/dequantized']);
    expect(m.tensors.image).toEqual({ name: 'image', shape: [-1, 28, 28, 1], dtype: 'float32' });
  });

  it('stores HWIO / [cin, cout] int8 weights, per-channel scales for convs, per-tensor for dense, int32 biases', () => {
    const w1 = m.tensors['conv1/weight']!;
    const w2 = m.tensors['conv2/weight']!;
    const wd = m.tensors['logits/weight']!;
    expect([w1.shape, w2.shape, wd.shape]).toEqual([[3, 3, 1, 16], [3, 3, 16, 32], [800, 10]]);
    expect([w1.quant!.scale.length, w2.quant!.scale.length, wd.quant!.scale.length]).toEqual([16, 32, 1]);
    expect([w1.quant!.axis, wd.quant!.axis]).toEqual([3, null]);
    for (const w of [w1, w2, wd]) {
      expect(w.data).toBeInstanceOf(Int8Array);
      expect(Math.max(...Array.from(w.data as Int8Array, Math.abs))).toBe(127);
      expect(w.quant!.zeroPoint.every((z) => z === 0)).toBe(true);
    }
    const b2 = m.tensors['conv2/bias']!;
    expect(b2.data).toBeInstanceOf(Int32Array);
    expect(b2.quant!.scale).toEqual(w2.quant!.scale.map((s) => Math.fround(m.tensors.pool1!.quant!.scale[0]! * s)));
  });

  it('fuses BN + ReLU into the conv: relu clamp from the zero point, valid padding', () => {
    const c1 = m.ops[1]!;
    expect(c1).toMatchObject({ kind: 'conv2d', activation: 'relu', kernelSize: [3, 3], strides: [1, 1], dilations: [1, 1], padding: 'valid', pads: [0, 0, 0, 0] });
    const zp = m.tensors.conv1!.quant!.zeroPoint[0]!;
    expect(c1).toMatchObject({ clamp: [zp, 127] });
    expect(zp).toBe(-128); // a ReLU output's range starts at 0
  });

  it('max-pool and flatten keep the input scale and zero point', () => {
    expect(m.tensors.pool1!.quant).toEqual(m.tensors.conv1!.quant);
    expect(m.tensors.flatten!.quant).toEqual(m.tensors.pool2!.quant);
    expect(m.tensors.pool2!.shape).toEqual([-1, 5, 5, 32]);
    expect(m.tensors.flatten!.shape).toEqual([-1, 800]);
    expect(m.ops[2]).toMatchObject({ poolSize: [2, 2], strides: [2, 2], padding: 'valid' });
  });

  it('reports activations, MACs and bytes', () => {
    const r = m.report;
    expect(r.activations.map((a) => a.name)).toEqual(['image_quant', 'conv1', 'pool1', 'conv2', 'pool2', 'flatten', 'logits']);
    for (const a of r.activations) {
      expect(a.scale).toBeGreaterThan(0);
      expect(a.representable[0]).toBeLessThanOrEqual(0);
      expect(a.representable[1]).toBeGreaterThanOrEqual(0);
    }
    // 26·26·16·9 + 11·11·32·144 + 800·10
    expect(r.macsPerSample).toBe(97344 + 557568 + 8000);
    expect(r.ops.find((o) => o.name === 'conv2')).toMatchObject({ macs: 557568, params: 4608, perChannel: true });
    expect(r.bytes).toEqual({ int8Weights: 12752, int32Biases: 4 * 58, scales: 4 * 49, floatIslands: 0, total: 12752 + 232 + 196, float32: 4 * (12752 + 58) });
    expect(r.floatLayers).toEqual([]);
  });

  it('is plain JSON apart from typed-array data', () => {
    const { tensors, ...rest } = m;
    const plain = { ...rest, tensors: Object.fromEntries(Object.entries(tensors).map(([k, { data: _data, ...t }]) => [k, t])) };
    expect(JSON.parse(JSON.stringify(plain))).toEqual(plain);
  });
});

describe('separable convolution', () => {
  // Depth multiplier 1: tfjs-layers' SeparableConv2D.getConfig() drops depthMultiplier, so prepareQat
  // cannot rebuild a multiplier-2 layer yet (depthwise multipliers are covered by DepthwiseConv2D tests).
  it('splits into depthwise → int8 intermediate (its own observed range) → 1×1 conv with the folded BN and bias', () => {
    const input = tfl.input({ shape: [8, 8, 3], name: 'x' });
    let y = tfl.layers.separableConv2d({ name: 'sep', filters: 5, kernelSize: 3, depthMultiplier: 1, padding: 'same', strides: 2 }).apply(input) as ST;
    y = tfl.layers.batchNormalization({ name: 'bn' }).apply(y) as ST;
    const { model } = prepareObserved(tfl.model({ inputs: input, outputs: y }), { batches: 2, batch: 4 });
    const m = convert(model);
    expect(m.ops.map((o) => `${o.kind}:${o.name}`)).toEqual(['quantize:x_quant', 'depthwise:sep/depthwise', 'conv2d:sep/pointwise', 'dequantize:sep/dequantized']);
    expect(m.ops[1]).toMatchObject({ depthMultiplier: 1, strides: [2, 2], padding: 'same', pads: [0, 0, 1, 1], inputs: ['x_quant', 'sep/depthwise/weight'], outputs: ['sep/depthwise'] });
    expect(m.ops[2]).toMatchObject({ kernelSize: [1, 1], strides: [1, 1], inputs: ['sep/depthwise', 'sep/pointwise/weight', 'sep/pointwise/bias'], outputs: ['sep'] });
    expect(m.tensors['sep/depthwise/weight']!.shape).toEqual([3, 3, 3]);
    expect(m.tensors['sep/pointwise/weight']!.shape).toEqual([1, 1, 3, 5]);
    expect(m.tensors['sep/depthwise']!.shape).toEqual([-1, 4, 4, 3]);
    expect(m.tensors['sep/depthwise']!.quant!.scale[0]).not.toBe(m.tensors.sep!.quant!.scale[0]);
    expect(m.report.macsPerSample).toBe(4 * 4 * 3 * 9 + 4 * 4 * 5 * 3);
  });
});

describe('refusals name the layer', () => {
  it('ranges never observed', () => {
    const { model } = prepareQat(buildCnn());
    const issues = issuesOf(() => convert(model));
    expect(issues.map((i) => i.layer)).toEqual(expect.arrayContaining(['image_quant', 'conv1', 'conv2', 'logits']));
    expect(issues.find((i) => i.layer === 'conv1')).toMatchObject({ className: 'QatLinear', reason: expect.stringMatching(/never observed/) });
    expect(() => convert(model)).toThrow(/conv1 \(QatLinear\): output range was never observed/);
  });

  it('an activation the int8 kernel cannot fuse', () => {
    const input = tfl.input({ shape: [4], name: 'x' });
    const y = tfl.layers.dense({ units: 3, activation: 'tanh', name: 'fc' }).apply(input) as ST;
    const { model } = prepareObserved(tfl.model({ inputs: input, outputs: y }), { batches: 1, batch: 4 });
    expect(issuesOf(() => convert(model))).toEqual([{ layer: 'fc', className: 'QatLinear', reason: expect.stringMatching(/activation 'tanh'/) }]);
  });

  it('16-bit activations and degenerate ranges', () => {
    const input = tfl.input({ shape: [4], name: 'x' });
    const y = tfl.layers.dense({ units: 3, name: 'fc' }).apply(input) as ST;
    const { model } = prepareObserved(tfl.model({ inputs: input, outputs: y }), { batches: 1, batch: 4, config: { layers: { fc: { activationBits: 16 } } } });
    expect(issuesOf(() => convert(model))).toEqual([{ layer: 'fc', className: 'QatLinear', reason: expect.stringMatching(/16-bit activations/) }]);
    const { model: m2 } = prepareObserved(tfl.model({ inputs: input, outputs: y }), { batches: 1, batch: 4 });
    const out = (m2.getLayer('fc') as QatLinear).weightsByRole().out;
    out.min.write(tf.scalar(0));
    out.max.write(tf.scalar(0));
    expect(issuesOf(() => convert(m2))).toEqual([{ layer: 'fc', className: 'QatLinear', reason: expect.stringMatching(/degenerate/) }]);
  });

  it('a plain float model (no quantizers)', () => {
    const input = tfl.input({ shape: [4], name: 'x' });
    const y = conv(tfl.layers.reshape({ targetShape: [2, 2, 1] }).apply(input) as ST, 'c', 2, 1, 1);
    const issues = issuesOf(() => convert(tfl.model({ inputs: input, outputs: y })));
    expect(issues.map((i) => i.layer)).toContain('c');
  });
});

describe('float islands', () => {
  it('dequantize → the Keras layer with its float weights → quantize', () => {
    const input = tfl.input({ shape: [6], name: 'x' });
    let y = tfl.layers.dense({ units: 4, name: 'fc1' }).apply(input) as ST;
    y = tfl.layers.dense({ units: 3, name: 'fc2' }).apply(y) as ST;
    const { model } = prepareObserved(tfl.model({ inputs: input, outputs: y }), { batches: 1, batch: 4, config: { layers: { fc1: { float: true } } } });
    const m = convert(model);
    expect(m.ops.map((o) => `${o.kind}:${o.name}`)).toEqual(['quantize:x_quant', 'dequantize:x_quant/dequantized', 'float:fc1', 'quantize:fc1/quantize', 'dense:fc2', 'dequantize:fc2/dequantized']);
    const island = m.ops[2]!;
    expect(island).toMatchObject({ className: 'Dense', config: { units: 4 }, weights: ['fc1/kernel', 'fc1/bias'], outputs: ['fc1/float'] });
    expect(m.tensors['fc1/kernel']).toMatchObject({ dtype: 'float32', shape: [6, 4] });
    expect(m.tensors.fc1!.dtype).toBe('int8');
    expect(m.report.floatLayers).toEqual(['fc1']);
    expect(m.report.bytes.floatIslands).toBe(4 * 28);
  });
});
