// The WASM Conv2DBackpropFilter / Conv2DBackpropInput kernels registered by src/engine against the
// CPU backend's, on random shapes, strides and paddings.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/engine/backend.js';
import { liveCounts, onBackend, pick, randomInt, relativeError, rng, values } from './helpers.js';

type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: [number, number];
  pad: Pad;
  rounding?: 'floor' | 'ceil' | 'round';
}

const TOLERANCE = 1e-4;

function randomCase(next: () => number): ConvCase {
  let fh = randomInt(next, 1, 4);
  let fw = randomInt(next, 1, 4);
  let strides = pick(next, [[1, 1], [2, 2], [1, 2], [2, 1]] as [number, number][]);
  const pad = pick<Pad>(next, [
    'valid',
    'same',
    'same',
    randomInt(next, 1, 2),
    [[0, 0], [randomInt(next, 0, 2), randomInt(next, 0, 2)], [randomInt(next, 0, 2), randomInt(next, 0, 2)], [0, 0]],
  ]);
  if (typeof pad === 'number') {
    // TF.js sizes a numerically padded output from the filter height and row stride alone (its
    // computeOutputShape2D), so only square filters and strides give a well-formed convolution.
    fw = fh;
    strides = [strides[0], strides[0]];
  }
  return {
    x: [randomInt(next, 1, 4), randomInt(next, fh, 11), randomInt(next, fw, 11), randomInt(next, 1, 5)],
    filter: [fh, fw, 0, randomInt(next, 1, 5)],
    strides,
    pad,
    // Only 'floor': for rounding that goes up, WASM's forward Conv2D writes a different shape than
    // TF.js allocates (seen), so the forward pass itself is wrong there.
    rounding: typeof pad === 'number' ? 'floor' : undefined,
  };
}

function withChannels(c: ConvCase): ConvCase {
  return { ...c, filter: [c.filter[0], c.filter[1], c.x[3], c.filter[3]] };
}

/** Gradients of Σ conv(x, w) · r, so dy is random rather than all ones. */
async function convGrads(backend: string, c: ConvCase, seed: number): Promise<Float32Array[]> {
  const next = rng(seed);
  const xv = values(next, c.x);
  const wv = values(next, c.filter);
  return onBackend(backend, () => {
    const x = tf.tensor4d(xv, c.x);
    const w = tf.tensor4d(wv, c.filter);
    const y = tf.conv2d(x, w, c.strides, c.pad, 'NHWC', [1, 1], c.rounding);
    const r = tf.tensor(values(rng(seed + 1), y.shape), y.shape);
    const f = (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad, 'NHWC', [1, 1], c.rounding), r));
    return tf.grads(f)([x, w]);
  });
}

const fixedCases: ConvCase[] = [
  // The 3×3 layers of the reference cnn, at a small batch.
  { x: [2, 13, 13, 16], filter: [3, 3, 16, 32], strides: [1, 1], pad: 'valid' },
  { x: [2, 28, 28, 1], filter: [3, 3, 1, 16], strides: [1, 1], pad: 'valid' },
  // A 1×1 filter at stride 2: one output phase meets no filter tap at all.
  { x: [2, 7, 8, 3], filter: [1, 1, 3, 4], strides: [2, 2], pad: 'valid' },
  // Stride 2 over 'valid' padding leaves input rows the convolution never reads.
  { x: [3, 8, 9, 2], filter: [3, 2, 2, 3], strides: [2, 2], pad: 'valid' },
  // Filter as large as the input, and padding larger than the filter.
  { x: [1, 4, 5, 2], filter: [4, 5, 2, 3], strides: [1, 1], pad: 'valid' },
  { x: [2, 5, 5, 2], filter: [2, 2, 2, 2], strides: [2, 1], pad: [[0, 0], [3, 0], [0, 3], [0, 0]] },
];

describe('WASM conv2d gradient kernels', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  const next = rng(20240611);
  const cases = [...fixedCases, ...Array.from({ length: 24 }, () => withChannels(randomCase(next)))];

  it.each(cases.map((c, i) => [JSON.stringify(c), c, i] as const))('matches the CPU backend: %s', async (_, c, i) => {
    const [cpuDx, cpuDw] = await convGrads('cpu', c, 1000 + i);
    const [wasmDx, wasmDw] = await convGrads('wasm', c, 1000 + i);
    expect(relativeError(wasmDx!, cpuDx!)).toBeLessThan(TOLERANCE);
    expect(relativeError(wasmDw!, cpuDw!)).toBeLessThan(TOLERANCE);
  });

  it('runs the project kernels, not a silent fallback', async () => {
    const c = fixedCases[0]!;
    await tf.setBackend('wasm');
    const x = tf.randomNormal(c.x) as tf.Tensor4D;
    const w = tf.randomNormal(c.filter) as tf.Tensor4D;
    const profile = await tf.profile(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid')))([x, w]));
    tf.dispose([x, w]);
    expect(profile.kernelNames).toEqual(expect.arrayContaining(['Conv2DBackpropFilter', 'Conv2DBackpropInput']));
    // Built from WASM's forward convolution, so a nested Conv2D runs inside each.
    expect(profile.kernels.filter((k) => k.name === 'Conv2D').length).toBeGreaterThanOrEqual(3);
  });

  describe('called directly, with layouts tf.conv2d does not produce on WASM', () => {
    const x: [number, number, number, number] = [2, 3, 9, 7]; // NCHW
    const filter: [number, number, number, number] = [3, 2, 3, 4];
    const attrs = { strides: [2, 1], pad: 'same', dataFormat: 'NCHW' };
    const dyShape = [2, 4, 5, 7];

    it('NCHW filter gradient', async () => {
      const run = (backend: string) =>
        onBackend(backend, () =>
          tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor(values(rng(1), x), x), dy: tf.tensor(values(rng(2), dyShape), dyShape) }, { ...attrs, filterShape: filter } as unknown as tf.NamedAttrMap),
        );
      const [cpu] = await run('cpu');
      const [wasm] = await run('wasm');
      expect(relativeError(wasm!, cpu!)).toBeLessThan(TOLERANCE);
    });

    it('NCHW input gradient', async () => {
      const run = (backend: string) =>
        onBackend(backend, () =>
          tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor(values(rng(3), dyShape), dyShape), filter: tf.tensor(values(rng(4), filter), filter) }, { ...attrs, inputShape: x } as unknown as tf.NamedAttrMap),
        );
      const [cpu] = await run('cpu');
      const [wasm] = await run('wasm');
      expect(relativeError(wasm!, cpu!)).toBeLessThan(TOLERANCE);
    });
  });

  it("numeric padding with dimRoundingMode 'ceil', where the last window hangs past the input", async () => {
    const x: [number, number, number, number] = [2, 6, 8, 3];
    const filter: [number, number, number, number] = [3, 3, 3, 4];
    const attrs = { strides: [2, 2], pad: 1, dataFormat: 'NHWC', dimRoundingMode: 'ceil' };
    const info = tf.backend_util.computeConv2DInfo(x, filter, [2, 2], 1, 1, 'ceil');
    const dyShape = info.outShape;
    expect(dyShape).toEqual([2, 4, 5, 4]);
    const run = (backend: string) =>
      onBackend(backend, () => [
        tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor(values(rng(5), x), x), dy: tf.tensor(values(rng(6), dyShape), dyShape) }, { ...attrs, filterShape: filter } as unknown as tf.NamedAttrMap) as tf.Tensor,
        tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor(values(rng(6), dyShape), dyShape), filter: tf.tensor(values(rng(7), filter), filter) }, { ...attrs, inputShape: x } as unknown as tf.NamedAttrMap) as tf.Tensor,
      ]);
    const [cpuDw, cpuDx] = await run('cpu');
    const [wasmDw, wasmDx] = await run('wasm');
    expect(relativeError(wasmDw!, cpuDw!)).toBeLessThan(TOLERANCE);
    expect(relativeError(wasmDx!, cpuDx!)).toBeLessThan(TOLERANCE);
  });

  it('leaks no tensor or buffer and leaves its inputs intact', async () => {
    await tf.setBackend('wasm');
    const xv = values(rng(7), [3, 10, 10, 4]);
    const wv = values(rng(8), [3, 3, 4, 5]);
    const x = tf.tensor4d(xv, [3, 10, 10, 4]);
    const w = tf.tensor4d(wv, [3, 3, 4, 5]);
    const dy = tf.tidy(() => tf.onesLike(tf.conv2d(x, w, 2, 'same')));
    const before = liveCounts();
    for (let i = 0; i < 3; i++) {
      const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor;
      const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: w.shape } as unknown as tf.NamedAttrMap) as tf.Tensor;
      expect(liveCounts()).toEqual({ tensors: before.tensors + 2, buffers: before.buffers + 2 });
      tf.dispose([dx, dw]);
      // A freed input buffer would be handed out again here and overwritten.
      tf.dispose(tf.tidy(() => [tf.fill([3, 10, 10, 4], 42), tf.fill([3, 3, 4, 5], 42)]));
    }
    expect(liveCounts()).toEqual(before);
    expect(Array.from(x.dataSync())).toEqual(Array.from(xv));
    expect(Array.from(w.dataSync())).toEqual(Array.from(wv));
    tf.dispose([x, w, dy]);
  });
});
