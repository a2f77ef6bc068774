// Golden values from an independent NumPy implementation (scripts/golden/fake_quant.py), checked on
// every backend, through the single-pass kernels and through the composite fallback.
import { readFileSync } from 'node:fs';
import * as tf from '../../../src/core/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { compositeFakeQuant, fakeQuant } from '../../../src/core/quant/fakeQuant.js';
import { BACKENDS, useBackend } from '../../support/backends.js';

interface Golden {
  name: string;
  bits: number;
  narrow_range: boolean;
  min: number | number[];
  max: number | number[];
  axis?: number;
  shape?: number[];
  nudged?: [number, number, number];
  x: number[];
  y: number[];
  dy: number[];
  dx: number[];
  dmin: number | number[];
  dmax: number | number[];
}

const golden = JSON.parse(readFileSync(new URL('../../fixtures/golden/fake_quant.json', import.meta.url), 'utf8')) as {
  per_tensor: Golden[];
  per_channel: Golden[];
};

type Impl = (x: tf.Tensor, min: tf.Tensor, max: tf.Tensor, g: Golden) => tf.Tensor;
const kernel: Impl = (x, min, max, g) => fakeQuant(x, min, max, { bits: g.bits, narrowRange: g.narrow_range, axis: g.axis });
const composite: Impl = (x, min, max, g) => {
  const axis = g.axis === undefined ? -1 : g.axis < 0 ? x.rank + g.axis : g.axis;
  return compositeFakeQuant(x, min, max, { bits: g.bits, narrowRange: g.narrow_range, axis, label: 'test' });
};

function run(impl: Impl, g: Golden) {
  const x = tf.tensor(g.x, g.shape ?? [g.x.length]);
  const min = tf.tensor(g.min);
  const max = tf.tensor(g.max);
  const dy = tf.tensor(g.dy, x.shape);
  const y = impl(x, min, max, g);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => impl(a, b, c, g))([x, min, max], dy);
  const out = { y: Array.from(y.dataSync()), dx: Array.from(grads[0]!.dataSync()), dmin: Array.from(grads[1]!.dataSync()), dmax: Array.from(grads[2]!.dataSync()) };
  tf.dispose([x, min, max, dy, y, ...grads]);
  return out;
}

const f32 = (v: number[]) => Array.from(new Float32Array(v));
const list = (v: number | number[]) => (Array.isArray(v) ? v : [v]);

for (const backend of BACKENDS) {
  for (const [implName, impl] of [['kernel', kernel], ['composite', composite]] as const) {
    describe(`fake-quant on ${backend} (${implName})`, () => {
      beforeAll(() => useBackend(backend));

      // The composite computes in float32 tensors: a value within an ulp of a .5 tie may land one step
      // away, and max - min of an extreme range overflows, so that case is the kernels' alone.
      const cases = [...golden.per_tensor, ...golden.per_channel].filter((g) => implName === 'kernel' || g.name !== 'extreme range');
      it.each(cases.map((g) => [g.name, g] as const))('%s', (_name, g) => {
        const before = tf.memory().numTensors;
        const out = run(impl, g);
        // Kernels: forward and input gradient exactly (float32 bit for bit); range gradients are sums.
        if (implName === 'kernel') expect(out.y).toEqual(f32(g.y));
        else out.y.forEach((v, i) => expect(Math.abs(v - g.y[i]!)).toBeLessThanOrEqual((g.nudged?.[2] ?? 0) + 1e-6 * Math.max(1, Math.abs(g.y[i]!))));
        expect(out.dx).toEqual(f32(g.dx));
        list(g.dmin).forEach((v, i) => expect(out.dmin[i]).toBeCloseTo(v, 5));
        list(g.dmax).forEach((v, i) => expect(out.dmax[i]).toBeCloseTo(v, 5));
        expect(tf.memory().numTensors).toBe(before);
      });
    });
  }

  describe(`fake-quant input checks on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    const fq = (x: number[], min = -1, max = 1) => fakeQuant(tf.tensor(x), tf.scalar(min), tf.scalar(max), { bits: 8, label: 'dense_1/kernel' });

    it.each([
      ['NaN', [0.5, Number.NaN, 0.1], /dense_1\/kernel: input has NaN at flat index 1/],
      ['+Inf', [0.5, 0.2, Number.POSITIVE_INFINITY], /input has Infinity at flat index 2/],
      ['-Inf', [Number.NEGATIVE_INFINITY], /input has -Infinity at flat index 0/],
    ])('refuses %s inputs with an error naming the tensor and the index, leaking nothing', (_n, x, message) => {
      const [input, lo, hi] = [tf.tensor(x as number[]), tf.scalar(-1), tf.scalar(1)];
      const before = tf.memory().numTensors;
      const bytes = tf.memory().numBytes;
      expect(() => fakeQuant(input, lo, hi, { bits: 8, label: 'dense_1/kernel' })).toThrow(message);
      expect(tf.memory().numTensors).toBe(before);
      expect(tf.memory().numBytes).toBe(bytes);
      tf.dispose([input, lo, hi]);
    });

    it('refuses a NaN or inverted range', () => {
      expect(() => fq([0], Number.NaN, 1)).toThrow(/dense_1\/kernel: channel 0: quantization range must be finite/);
      expect(() => fq([0], 2, 1)).toThrow(/inverted: min 2 > max 1/);
    });

    it('refuses bad bits, dtypes and per-channel shapes', () => {
      expect(() => fakeQuant(tf.tensor([1]), tf.scalar(0), tf.scalar(1), { bits: 1 })).toThrow(/bits must be an integer in \[2, 16\]/);
      expect(() => fakeQuant(tf.tensor([1], [1], 'int32'), tf.scalar(0), tf.scalar(1), { bits: 8 })).toThrow(/float32/);
      expect(() => fakeQuant(tf.zeros([2, 3]), tf.zeros([2]), tf.ones([2]), { bits: 8 })).toThrow(/per-channel range has 2 values but axis 1 of shape \[2,3\] has 3/);
    });

    it('maps 0.0 to exactly 0.0 for any range containing it', () => {
      for (const [min, max] of [[-1, 1], [-0.3, 5.7], [-1e-3, 7e-4], [-100, 0.001]]) {
        for (const bits of [2, 4, 8, 16]) {
          expect(fakeQuant(tf.tensor([0]), tf.scalar(min!), tf.scalar(max!), { bits }).dataSync()[0]).toBe(0);
        }
      }
    });

    it('is idempotent: quantizing a quantized tensor changes nothing', () => {
      const x = tf.randomNormal([1000], 0, 2, 'float32', 7);
      const once = fakeQuant(x, tf.scalar(-3), tf.scalar(2.5), { bits: 8 });
      const twice = fakeQuant(once, tf.scalar(-3), tf.scalar(2.5), { bits: 8 });
      expect(Array.from(twice.dataSync())).toEqual(Array.from(once.dataSync()));
    });
  });
}

describe('kernel and composite agree on random per-channel conv weights', () => {
  it.each(BACKENDS)('%s', async (backend) => {
    await useBackend(backend);
    const w = tf.randomNormal([3, 3, 8, 16], 0, 0.2, 'float32', 11);
    const absMax = tf.max(tf.abs(w), [0, 1, 2]);
    const g = { bits: 8, narrow_range: true, axis: 3 } as Golden;
    const dy = tf.randomNormal(w.shape, 0, 1, 'float32', 12);
    const lo = tf.mul(absMax, -0.5);
    const a = tf.grads((x: tf.Tensor, l: tf.Tensor, h: tf.Tensor) => kernel(x, l, h, g))([w, lo, absMax], dy);
    const b = tf.grads((x: tf.Tensor, l: tf.Tensor, h: tf.Tensor) => composite(x, l, h, g))([w, lo, absMax], dy);
    const ya = kernel(w, lo, absMax, g).dataSync();
    const yb = composite(w, lo, absMax, g).dataSync();
    ya.forEach((v, j) => expect(v).toBeCloseTo(yb[j]!, 6));
    // The range gradients are exercised: some channels have values outside [-0.5 max|w|, max|w|].
    expect(tf.sum(tf.abs(a[1]!)).dataSync()[0]).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) {
      const [da, db] = [a[i]!.dataSync(), b[i]!.dataSync()];
      da.forEach((v, j) => expect(v).toBeCloseTo(db[j]!, 4));
    }
  });
});
