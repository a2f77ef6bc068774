// The WASM DepthwiseConv2dNativeBackpropFilter / ...BackpropInput kernels registered by src/engine
// against the CPU backend's, on random shapes, strides, paddings and channel multipliers.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/engine/backend.js';
import { liveCounts, onBackend, pick, randomInt, relativeError, rng, spreadFilter, unspreadFilter, values } from './helpers.js';

type Pad = 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];

interface DepthwiseCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: [number, number];
  pad: Pad;
}

const TOLERANCE = 1e-4;

function randomCase(next: () => number): DepthwiseCase {
  const fh = randomInt(next, 1, 4);
  const fw = randomInt(next, 1, 4);
  const channels = randomInt(next, 1, 5);
  return {
    x: [randomInt(next, 1, 4), randomInt(next, fh, 11), randomInt(next, fw, 11), channels],
    filter: [fh, fw, channels, randomInt(next, 1, 2)],
    strides: pick(next, [[1, 1], [2, 2], [1, 2], [2, 1]] as [number, number][]),
    pad: pick<Pad>(next, [
      'valid',
      'same',
      [[0, 0], [randomInt(next, 0, 2), randomInt(next, 0, 2)], [randomInt(next, 0, 2), randomInt(next, 0, 2)], [0, 0]],
    ]),
  };
}

async function depthwiseGrads(backend: string, c: DepthwiseCase, seed: number): Promise<Float32Array[]> {
  const next = rng(seed);
  const xv = values(next, c.x);
  const wv = values(next, c.filter);
  return onBackend(backend, () => {
    const x = tf.tensor4d(xv, c.x);
    const w = tf.tensor4d(wv, c.filter);
    const y = tf.depthwiseConv2d(x, w, c.strides, c.pad);
    const r = tf.tensor(values(rng(seed + 1), y.shape), y.shape);
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), r));
    return tf.grads(f)([x, w]);
  });
}

const fixedCases: DepthwiseCase[] = [
  { x: [2, 14, 14, 8], filter: [3, 3, 8, 1], strides: [1, 1], pad: 'same' },
  { x: [2, 14, 14, 8], filter: [3, 3, 8, 2], strides: [2, 2], pad: 'same' },
  { x: [3, 7, 8, 3], filter: [1, 1, 3, 2], strides: [2, 2], pad: 'valid' },
  { x: [1, 5, 6, 2], filter: [5, 6, 2, 2], strides: [1, 1], pad: 'valid' },
];

describe('WASM depthwise conv gradient kernels', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  const next = rng(77);
  const cases = [...fixedCases, ...Array.from({ length: 24 }, () => randomCase(next))];

  it.each(cases.map((c, i) => [JSON.stringify(c), c, i] as const))('matches the CPU backend: %s', async (_, c, i) => {
    const [cpuDx, cpuDw] = await depthwiseGrads('cpu', c, 500 + i);
    const [wasmDx, wasmDw] = await depthwiseGrads('wasm', c, 500 + i);
    expect(relativeError(wasmDx!, cpuDx!)).toBeLessThan(TOLERANCE);
    expect(relativeError(wasmDw!, cpuDw!)).toBeLessThan(TOLERANCE);
  });

  it('separable conv gradients (depthwise then pointwise) match the CPU backend', async () => {
    const xShape: [number, number, number, number] = [2, 9, 9, 3];
    const dShape: [number, number, number, number] = [3, 3, 3, 2];
    const pShape: [number, number, number, number] = [1, 1, 6, 4];
    const run = (backend: string) =>
      onBackend(backend, () => {
        const x = tf.tensor4d(values(rng(1), xShape), xShape);
        const d = tf.tensor4d(values(rng(2), dShape), dShape);
        const p = tf.tensor4d(values(rng(3), pShape), pShape);
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          tf.sum(tf.square(tf.separableConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, 2, 'same')));
        return tf.grads(f)([x, d, p]);
      });
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    cpu.forEach((expected, k) => expect(relativeError(wasm[k]!, expected)).toBeLessThan(TOLERANCE));
  });

  // tf.grads refuses dilated depthwise convolutions, but the kernels take dilations. The reference
  // is the CPU kernels run undilated on the filter spread out with zeros (the CPU kernels ignore
  // their dilations attribute, so they could not be the reference otherwise).
  describe.each([
    { strides: [1, 1], dilations: [2, 2], pad: 'same' },
    { strides: [1, 1], dilations: [2, 1], pad: 'valid' },
    { strides: [2, 2], dilations: [2, 2], pad: 'same' },
    { strides: [2, 1], dilations: [1, 2], pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  ] as { strides: [number, number]; dilations: [number, number]; pad: Pad }[])('dilated kernels called directly: %j', (attrs) => {
    const x: [number, number, number, number] = [2, 11, 10, 3];
    const filter: [number, number, number, number] = [3, 2, 3, 2];
    const dyShape = tf.backend_util.computeConv2DInfo(x, filter, attrs.strides, attrs.dilations, attrs.pad, undefined, true).outShape;
    const undilated = { strides: attrs.strides, dilations: [1, 1], pad: attrs.pad };

    it('input gradient', async () => {
      const wv = values(rng(9), filter);
      const dyv = values(rng(10), dyShape);
      const wide = spreadFilter(wv, filter, attrs.dilations);
      const [expected] = await onBackend('cpu', () =>
        tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: tf.tensor(dyv, dyShape), filter: tf.tensor(wide.values, wide.shape) }, { ...undilated, inputShape: x } as unknown as tf.NamedAttrMap),
      );
      const [actual] = await onBackend('wasm', () =>
        tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: tf.tensor(dyv, dyShape), filter: tf.tensor(wv, filter) }, { ...attrs, inputShape: x } as unknown as tf.NamedAttrMap),
      );
      expect(relativeError(actual!, expected!)).toBeLessThan(TOLERANCE);
    });

    it('filter gradient', async () => {
      const xv = values(rng(11), x);
      const dyv = values(rng(12), dyShape);
      const wideShape = spreadFilter(new Float32Array(filter.reduce((a, b) => a * b, 1)), filter, attrs.dilations).shape;
      const [wide] = await onBackend('cpu', () =>
        tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: tf.tensor(xv, x), dy: tf.tensor(dyv, dyShape) }, { ...undilated, filterShape: wideShape } as unknown as tf.NamedAttrMap),
      );
      const [actual] = await onBackend('wasm', () =>
        tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: tf.tensor(xv, x), dy: tf.tensor(dyv, dyShape) }, { ...attrs, filterShape: filter } as unknown as tf.NamedAttrMap),
      );
      expect(relativeError(actual!, unspreadFilter(wide!, filter, attrs.dilations))).toBeLessThan(TOLERANCE);
    });
  });

  it('leaks no tensor or buffer and leaves its inputs intact', async () => {
    await tf.setBackend('wasm');
    const xv = values(rng(7), [3, 10, 10, 4]);
    const wv = values(rng(8), [3, 3, 4, 2]);
    const x = tf.tensor4d(xv, [3, 10, 10, 4]);
    const w = tf.tensor4d(wv, [3, 3, 4, 2]);
    const dy = tf.tidy(() => tf.onesLike(tf.depthwiseConv2d(x, w, 2, 'same')));
    const attrs = { strides: 2, dilations: 1, pad: 'same' };
    const before = liveCounts();
    for (let i = 0; i < 3; i++) {
      const dx = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: w }, { ...attrs, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor;
      const dw = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: w.shape } as unknown as tf.NamedAttrMap) as tf.Tensor;
      expect(liveCounts()).toEqual({ tensors: before.tensors + 2, buffers: before.buffers + 2 });
      tf.dispose([dx, dw]);
      tf.dispose(tf.tidy(() => [tf.fill([3, 10, 10, 4], 42), tf.fill([3, 3, 4, 2], 42)]));
    }
    expect(liveCounts()).toEqual(before);
    expect(Array.from(x.dataSync())).toEqual(Array.from(xv));
    expect(Array.from(w.dataSync())).toEqual(Array.from(wv));
    tf.dispose([x, w, dy]);
  });
});
