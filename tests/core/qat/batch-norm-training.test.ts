// The closed-form batch-norm gradient against autodiff of the textbook formula, on every backend.
import { describe, expect, it } from 'vitest';
import { batchNormTraining } from '../../../src/core/qat/layers/batchNormTraining.js';
import * as tf from '../../../src/core/tf.js';
import { BACKENDS, useBackend } from '../../support/backends.js';

const reference = (z: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number) => {
  const axes = z.shape.map((_, i) => i).slice(0, -1);
  const { mean, variance } = tf.moments(z, axes);
  return tf.add(tf.mul(tf.div(tf.sub(z, mean), tf.sqrt(tf.add(variance, eps))), g), b);
};

function maxRelDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.div(tf.abs(tf.sub(a, b)), tf.add(tf.abs(b), 1e-3))).dataSync()[0]!);
}

describe.each(BACKENDS)('batchNormTraining on %s', (backend) => {
  it.each([
    [[16, 5, 5, 3], 1e-3],
    [[32, 7], 1e-5],
  ])('shape %j: same forward and statistics, gradients match autodiff', async (shape, eps) => {
    await useBackend(backend);
    const z = tf.randomNormal(shape as number[], 0.5, 2, 'float32', 1);
    const c = (shape as number[]).at(-1)!;
    const g = tf.randomUniform([c], 0.5, 1.5, 'float32', 2);
    const b = tf.randomUniform([c], -1, 1, 'float32', 3);
    const dy = tf.randomNormal(shape as number[], 0, 1, 'float32', 4);
    const stats: number[][] = [];
    const y = batchNormTraining(z, g, b, eps, (m, v) => stats.push(Array.from(m.dataSync()), Array.from(v.dataSync())));
    expect(Array.from(y.dataSync())).toEqual(Array.from(reference(z, g, b, eps).dataSync()));
    const axes = (shape as number[]).map((_, i) => i).slice(0, -1);
    expect(stats[0]).toEqual(Array.from(tf.moments(z, axes).mean.dataSync()));
    const fast = tf.grads((a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => batchNormTraining(a, gg, bb, eps, () => undefined))([z, g, b], dy);
    const slow = tf.grads((a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => reference(a, gg, bb, eps))([z, g, b], dy);
    for (let i = 0; i < 3; i++) expect(maxRelDiff(fast[i]!, slow[i]!)).toBeLessThan(1e-4);
  });

  it('finite differences agree with the gradient of z', async () => {
    await useBackend(backend);
    const z = tf.randomNormal([6, 2], 0, 1, 'float32', 5);
    const g = tf.tensor1d([1.3, 0.7]);
    const b = tf.tensor1d([0.1, -0.2]);
    const w = tf.randomNormal([6, 2], 0, 1, 'float32', 6);
    const loss = (a: tf.Tensor) => tf.sum(tf.mul(batchNormTraining(a, g, b, 1e-3, () => undefined), w));
    const analytic = tf.grad(loss)(z).dataSync();
    const base = z.dataSync();
    const h = 1e-2;
    for (let i = 0; i < base.length; i++) {
      const plus = base.slice();
      const minus = base.slice();
      plus[i]! += h;
      minus[i]! -= h;
      const numeric = (loss(tf.tensor(plus, z.shape)).dataSync()[0]! - loss(tf.tensor(minus, z.shape)).dataSync()[0]!) / (2 * h);
      expect(analytic[i]).toBeCloseTo(numeric, 2);
    }
  });
});
