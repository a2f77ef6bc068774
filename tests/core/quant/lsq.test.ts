// LSQ against golden values from an independent NumPy implementation (scripts/golden/lsq.py), on
// every backend, through the single-pass kernels and through the composite fallback.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../../src/core/tf.js';
import { compositeLsq, LSQ_MIN_STEP, lsqInitialStep, lsqQuantize } from '../../../src/core/quant/lsq.js';
import { lsqLevels } from '../../../src/core/quant/lsqMath.js';
import { BACKENDS, useBackend } from '../../support/backends.js';

interface Golden {
  name: string;
  bits: number;
  signed: boolean;
  narrow_range: boolean;
  step: number | number[];
  axis?: number;
  shape?: number[];
  x: number[];
  dy: number[];
  y: number[];
  dx: number[];
  ds: number | number[];
}

const golden = JSON.parse(readFileSync(new URL('../../fixtures/golden/lsq.json', import.meta.url), 'utf8')) as {
  per_tensor: Golden[];
  per_channel: Golden[];
};
const cases = [...golden.per_tensor, ...golden.per_channel];

type Impl = (x: tf.Tensor, step: tf.Tensor, g: Golden) => tf.Tensor;
const kernel: Impl = (x, step, g) => lsqQuantize(x, step, { bits: g.bits, signed: g.signed, narrowRange: g.narrow_range, axis: g.axis });
const composite: Impl = (x, step, g) => {
  const { qn, qp } = lsqLevels(g.bits, g.signed, g.narrow_range);
  const channels = Array.isArray(g.step) ? g.step.length : 1;
  const gradScale = 1 / Math.sqrt((x.size / channels) * qp);
  const axis = g.axis === undefined ? -1 : g.axis < 0 ? x.rank + g.axis : g.axis;
  return compositeLsq(x, step, { qn, qp, gradScale, axis, label: 'test' });
};

function run(impl: Impl, g: Golden) {
  const x = tf.tensor(g.x, g.shape ?? [g.x.length]);
  const step = tf.tensor(g.step);
  const dy = tf.tensor(g.dy, x.shape);
  const y = impl(x, step, g);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => impl(a, b, g))([x, step], dy);
  const out = { y: Array.from(y.dataSync()), dx: Array.from(grads[0]!.dataSync()), ds: Array.from(grads[1]!.dataSync()) };
  expect(grads[1]!.shape).toEqual(step.shape);
  tf.dispose([x, step, dy, y, ...grads]);
  return out;
}

const f32 = (v: number[]) => Array.from(new Float32Array(v));
const list = (v: number | number[]) => (Array.isArray(v) ? v : [v]);
/** Step of flat element i (per-channel: channel floor(i / inner) % C). */
function stepOf(g: Golden, i: number): number {
  if (!Array.isArray(g.step)) return Math.max(Math.fround(g.step), LSQ_MIN_STEP);
  const shape = g.shape!;
  const inner = shape.slice(g.axis! + 1).reduce((a, b) => a * b, 1);
  return Math.max(Math.fround(g.step[Math.floor(i / inner) % g.step.length]!), LSQ_MIN_STEP);
}

for (const backend of BACKENDS) {
  for (const [implName, impl] of [['kernel', kernel], ['composite', composite]] as const) {
    describe(`LSQ on ${backend} (${implName})`, () => {
      beforeAll(() => useBackend(backend));

      it.each(cases.map((g) => [g.name, g] as const))('%s', (_name, g) => {
        const before = tf.memory().numTensors;
        const out = run(impl, g);
        if (implName === 'kernel') {
          // x/s in double, rounded once: bit for bit the NumPy values.
          expect(out.y).toEqual(f32(g.y));
          expect(out.dx).toEqual(f32(g.dx));
          list(g.ds).forEach((v, c) => expect(Math.abs(out.ds[c]! - v)).toBeLessThanOrEqual(2e-7 * Math.abs(v) + 1e-30));
        } else {
          // The composite divides in float32: only an x/s within float32 rounding of a .5 tie (or of a
          // range boundary) may land one level away; everything else is exact.
          out.y.forEach((v, i) => {
            if (v === Math.fround(g.y[i]!)) return;
            const q = g.x[i]! / stepOf(g, i);
            expect(Math.abs(q - Math.round(q - 0.5) - 0.5)).toBeLessThan(1e-6 * Math.max(1, Math.abs(q)));
            expect(Math.abs(v - g.y[i]!)).toBeLessThanOrEqual(stepOf(g, i) * (1 + 1e-6));
          });
          expect(out.dx).toEqual(f32(g.dx));
          // Each term dy * (round(v) - v) carries v's float32 rounding error, |v| * 2^-24.
          const { qp } = lsqLevels(g.bits, g.signed, g.narrow_range);
          const channels = list(g.step).length;
          const scale = 1 / Math.sqrt((g.x.length / channels) * qp);
          const bound = g.x.reduce((acc, x, i) => acc + Math.abs(g.dy[i]!) * (Math.abs(x / stepOf(g, i)) + 1), 0) * 2 ** -22 * scale;
          list(g.ds).forEach((v, c) => expect(Math.abs(out.ds[c]! - v)).toBeLessThanOrEqual(bound + 1e-6 * Math.abs(v)));
        }
        expect(tf.memory().numTensors).toBe(before);
      });
    });
  }

  describe(`LSQ checks on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    const opts = { bits: 8, signed: true, label: 'conv1/kernel' };

    it.each([
      ['NaN', [0.5, Number.NaN, 0.1], /conv1\/kernel: input has NaN at flat index 1/],
      ['+Inf', [0.5, Number.POSITIVE_INFINITY], /conv1\/kernel: input has Infinity at flat index 1/],
    ])('refuses %s inputs with an error naming the tensor, leaking no memory', (_n, values, message) => {
      const [x, step] = [tf.tensor(values as number[]), tf.scalar(0.1)];
      const [tensors, data] = [tf.memory().numTensors, tf.engine().backend.numDataIds()];
      expect(() => lsqQuantize(x, step, opts)).toThrow(message);
      expect([tf.memory().numTensors, tf.engine().backend.numDataIds()]).toEqual([tensors, data]);
      tf.dispose([x, step]);
    });

    it('refuses NaN inputs in the composite too, and a non-finite step in both', () => {
      const attrs = { qn: -128, qp: 127, gradScale: 1, axis: -1, label: 'conv1/kernel' };
      expect(() => compositeLsq(tf.tensor([Number.NaN]), tf.scalar(0.1), attrs)).toThrow(/conv1\/kernel: input contains NaN or Inf/);
      expect(() => compositeLsq(tf.tensor([1]), tf.scalar(Number.NaN), attrs)).toThrow(/conv1\/kernel: LSQ step 0 is NaN/);
      expect(() => lsqQuantize(tf.tensor([1, 2]), tf.tensor([0.1, Number.POSITIVE_INFINITY]), { ...opts, axis: 0 })).toThrow(/LSQ step 1 is Infinity/);
    });

    it('refuses bad bits, dtypes, shapes and an unsigned narrow grid', () => {
      expect(() => lsqQuantize(tf.tensor([1]), tf.scalar(1), { bits: 1, signed: true })).toThrow(/bits must be an integer/);
      expect(() => lsqQuantize(tf.tensor([1], [1], 'int32'), tf.scalar(1), opts)).toThrow(/float32/);
      expect(() => lsqQuantize(tf.zeros([2, 3]), tf.ones([2]), opts)).toThrow(/per-channel range has 2 values but axis 1 of shape \[2,3\] has 3/);
      expect(() => lsqQuantize(tf.zeros([2]), tf.ones([1, 1]), opts)).toThrow(/scalar or a 1-D/);
      expect(() => lsqQuantize(tf.zeros([2]), tf.scalar(1), { bits: 8, signed: false, narrowRange: true })).toThrow(/signed LSQ grids only/);
    });

    it('the step gradient passes through the positivity clamp, so a negative step can recover', () => {
      // x/s_eff is far above Qp for every x, so each element contributes dy * Qp.
      const step = tf.scalar(-1);
      const [ds] = tf.grads((s: tf.Tensor) => lsqQuantize(tf.tensor([1, 2]), s, { bits: 4, signed: true }))([step], tf.tensor([1, 1]));
      expect(ds!.dataSync()[0]).toBeCloseTo((2 * 7) / Math.sqrt(2 * 7), 5);
    });

    it('trains: variableGrads gives the step a gradient and no leaked tensors', () => {
      const x = tf.randomNormal([64, 8], 0, 1, 'float32', 3);
      const step = tf.variable(lsqInitialStep(x, { bits: 4, signed: true }), true);
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(lsqQuantize(x, step, { bits: 4, signed: true }), x))) as tf.Scalar, [step]);
      expect(Object.keys(grads)).toEqual([step.name]);
      expect(Number.isFinite(grads[step.name]!.dataSync()[0]!)).toBe(true);
      tf.dispose([value, ...Object.values(grads)]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, step]);
    });
  });
}

describe('kernel and composite agree on random per-channel conv weights', () => {
  it.each(BACKENDS)('%s', async (backend) => {
    await useBackend(backend);
    const w = tf.randomNormal([3, 3, 8, 16], 0, 0.2, 'float32', 11);
    // A smallish step, so that some weights fall outside [Qn s, Qp s] and all three gradient cases occur.
    const step = tf.mul(lsqInitialStep(w, { bits: 4, signed: true, axis: 3 }), 0.5);
    const dy = tf.randomNormal(w.shape, 0, 1, 'float32', 12);
    const g = { bits: 4, signed: true, narrow_range: false, axis: 3, step: new Array(16).fill(0) } as Golden;
    const ya = kernel(w, step, g).dataSync();
    const yb = composite(w, step, g).dataSync();
    let differ = 0;
    ya.forEach((v, j) => (v === yb[j] ? undefined : differ++));
    expect(differ).toBeLessThanOrEqual(1); // a float32 near-tie at most
    const a = tf.grads((x: tf.Tensor, s: tf.Tensor) => kernel(x, s, g))([w, step], dy);
    const b = tf.grads((x: tf.Tensor, s: tf.Tensor) => composite(x, s, g))([w, step], dy);
    expect(Array.from(a[0]!.dataSync())).toEqual(Array.from(b[0]!.dataSync()));
    const clipped = tf.sum(tf.cast(tf.equal(a[0]!, 0), 'float32')).dataSync()[0]!;
    expect(clipped).toBeGreaterThan(0);
    const [da, db] = [a[1]!.dataSync(), b[1]!.dataSync()];
    da.forEach((v, j) => expect(v).toBeCloseTo(db[j]!, 4));
  });
});

describe('initial step', () => {
  it.each(BACKENDS)('is 2 mean|x| / sqrt(Qp), per tensor and per channel, floored for all-zero data (%s)', async (backend) => {
    await useBackend(backend);
    const x = tf.tensor([[1, -2, 0], [-3, 4, 0]]);
    expect(lsqInitialStep(x, { bits: 8, signed: true }).dataSync()[0]).toBeCloseTo((2 * (10 / 6)) / Math.sqrt(127), 6);
    const perChannel = lsqInitialStep(x, { bits: 4, signed: false, axis: 1 });
    expect(perChannel.shape).toEqual([3]);
    const expected = [2, 3, 0].map((m) => Math.max((2 * m) / Math.sqrt(15), LSQ_MIN_STEP));
    Array.from(perChannel.dataSync()).forEach((v, c) => expect(v).toBeCloseTo(expected[c]!, 6));
    expect(perChannel.dataSync()[2]).toBe(LSQ_MIN_STEP);
  });
});
