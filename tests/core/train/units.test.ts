// Unit checks of the loop's parts against independent float64 references: PRNG and shuffle, LR
// schedules, losses and their gradients, and the optimizers' update rules (PyTorch's formulas).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { meanSquaredError, softmaxCrossEntropy } from '../../../src/core/train/losses.js';
import { createOptimizer, type OptimizerConfig } from '../../../src/core/train/optimizers.js';
import { deriveSeed, permutation, Rng } from '../../../src/core/train/rng.js';
import { learningRateAt, stepsPerEpoch } from '../../../src/core/train/schedule.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('Rng', () => {
  it('repeats from a seed and continues from an exported state', () => {
    const a = new Rng(42);
    const first = Array.from({ length: 5 }, () => a.next());
    const b = new Rng(42);
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(first);
    const resumed = new Rng(b.state);
    expect(Array.from({ length: 5 }, () => resumed.next())).toEqual(Array.from({ length: 5 }, () => b.next()));
    expect(Array.from({ length: 5 }, () => new Rng(43).next())).not.toEqual(first);
  });

  it('is roughly uniform and its permutations are permutations', () => {
    const r = new Rng(1);
    const bins = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) bins[Math.floor(r.next() * 10)]++;
    for (const c of bins) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    const p = permutation(1000, new Rng(3));
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect([...p]).not.toEqual(Array.from({ length: 1000 }, (_, i) => i));
    // every position is equally likely to receive element 0 (Fisher–Yates is unbiased)
    const hits = new Array(4).fill(0);
    const g = new Rng(9);
    for (let i = 0; i < 8000; i++) hits[permutation(4, g).indexOf(0)]++;
    for (const h of hits) expect(Math.abs(h - 2000)).toBeLessThan(200);
  });

  it('derives distinct seeds per label', () => {
    const seeds = ['fc1/kernel', 'fc1/bias', 'fc2/kernel'].map((l) => deriveSeed(0, l));
    expect(new Set(seeds).size).toBe(3);
    expect(deriveSeed(0, 'fc1/kernel')).toBe(seeds[0]);
    expect(deriveSeed(1, 'fc1/kernel')).not.toBe(seeds[0]);
  });
});

describe('learning-rate schedules', () => {
  it('constant, step and cosine, with linear warmup, as functions of the global step', () => {
    expect(learningRateAt({ lr: 0.1 }, 1000)).toBe(0.1);
    const step = { lr: 0.1, schedule: { kind: 'step' as const, stepSize: 10, gamma: 0.5 } };
    expect([0, 9, 10, 25].map((s) => learningRateAt(step, s))).toEqual([0.1, 0.1, 0.05, 0.025]);
    const cos = { lr: 1, schedule: { kind: 'cosine' as const, totalSteps: 100, minLr: 0.1 } };
    expect(learningRateAt(cos, 0)).toBe(1);
    expect(learningRateAt(cos, 50)).toBeCloseTo(0.55, 12);
    expect(learningRateAt(cos, 100)).toBe(0.1);
    expect(learningRateAt(cos, 500)).toBe(0.1);
    const warm = { ...cos, warmupSteps: 4 };
    expect([0, 1, 2, 3].map((s) => learningRateAt(warm, s))).toEqual([0.25, 0.5, 0.75, 1]);
    expect(learningRateAt(warm, 4)).toBe(1); // the cosine starts after warmup
    expect(learningRateAt(warm, 54)).toBeCloseTo(0.55, 12);
    expect(stepsPerEpoch(100, 32)).toBe(4);
    expect(stepsPerEpoch(100, 32, true)).toBe(3);
  });
});

describe('losses', () => {
  it('softmax cross-entropy from logits: value and gradient match a float64 reference', () => {
    const z = [
      [2, -1, 0.5],
      [0, 0, 0],
      [-3, 4, 1],
      [10, 9, -20],
    ];
    const labels = [0, 2, 1, 1];
    let ref = 0;
    const refGrad = z.map((row, i) => {
      const m = Math.max(...row);
      const e = row.map((v) => Math.exp(v - m));
      const s = e.reduce((a, b) => a + b, 0);
      ref += Math.log(s) + m - row[labels[i]!]!;
      return e.map((v, j) => (v / s - (j === labels[i] ? 1 : 0)) / z.length);
    });
    ref /= z.length;
    const logits = tf.tensor2d(z);
    const y = tf.tensor1d(labels, 'int32');
    const { value, grads } = tf.valueAndGrads((t: tf.Tensor) => softmaxCrossEntropy(t, y))([logits]);
    expect(value.dataSync()[0]).toBeCloseTo(ref, 5);
    const g = grads[0]!.arraySync() as number[][];
    g.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(refGrad[i]![j]!, 6)));
    // and agrees with TF.js's own (slower) op
    const tfRef = tf.losses.softmaxCrossEntropy(tf.oneHot(y, 3), logits).dataSync()[0]!;
    expect(value.dataSync()[0]).toBeCloseTo(tfRef, 5);
  });

  it('mean squared error reshapes [n] targets to the prediction shape', () => {
    const v = meanSquaredError(tf.tensor2d([[1], [2], [4]]), tf.tensor1d([1, 0, 1])).dataSync()[0];
    expect(v).toBeCloseTo((0 + 4 + 9) / 3, 6);
  });
});

/** PyTorch's update rules in float64, as a reference. */
function referenceRun(cfg: OptimizerConfig, w0: number[], grads: number[][], lrs: number[]): number[] {
  const w = [...w0];
  const m = w.map(() => 0);
  const v = w.map(() => 0);
  grads.forEach((g, s) => {
    const t = s + 1;
    const lr = lrs[s]!;
    for (let i = 0; i < w.length; i++) {
      if (cfg.kind === 'adam') {
        const b1 = cfg.beta1 ?? 0.9;
        const b2 = cfg.beta2 ?? 0.999;
        const eps = cfg.epsilon ?? 1e-8;
        m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
        v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
        const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** t) + eps;
        w[i]! -= (lr / (1 - b1 ** t)) * (m[i]! / denom);
      } else {
        const mu = cfg.momentum ?? 0;
        m[i] = t === 1 ? g[i]! : mu * m[i]! + g[i]!;
        const d = cfg.nesterov ? g[i]! + mu * m[i]! : mu > 0 ? m[i]! : g[i]!;
        w[i]! -= lr * d;
      }
    }
  });
  return w;
}

describe('optimizers', () => {
  const w0 = [0.5, -1.25, 2, 0.001];
  const grads = [
    [0.1, -0.2, 0.3, 0],
    [0.05, 0.4, -0.3, 1e-4],
    [-0.2, 0.1, 0.0, -2],
    [0.3, 0.3, 0.3, 0.3],
  ];
  const lrs = [0.01, 0.02, 0.015, 0.005];
  it.each<[string, OptimizerConfig]>([
    ['adam', { kind: 'adam' }],
    ['adam (custom betas)', { kind: 'adam', beta1: 0.8, beta2: 0.99, epsilon: 1e-6 }],
    ['sgd', { kind: 'sgd' }],
    ['sgd + momentum', { kind: 'sgd', momentum: 0.9 }],
    ['sgd + nesterov', { kind: 'sgd', momentum: 0.9, nesterov: true }],
  ])('%s follows the PyTorch update rule', (_label, cfg) => {
    const opt = createOptimizer(cfg);
    const variable = tf.variable(tf.tensor1d(w0));
    const params = [{ key: 'w', variable }];
    grads.forEach((g, s) => tf.tidy(() => opt.update(params, [tf.tensor1d(g)], lrs[s]!, s + 1)));
    const ref = referenceRun(cfg, w0, grads, lrs);
    Array.from(variable.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 6));
    // slots are exported by stable name and restore exactly
    const slots = opt.exportSlots();
    const expected = cfg.kind === 'adam' ? ['w/m', 'w/v'] : cfg.momentum ? ['w/momentum'] : [];
    expect(Object.keys(slots)).toEqual(expected);
    const other = createOptimizer(cfg);
    other.importSlots(slots);
    expect(other.exportSlots()).toEqual(slots);
    opt.dispose();
    other.dispose();
    variable.dispose();
  });

  it('skips params without a gradient and rejects bad settings', () => {
    const opt = createOptimizer({ kind: 'adam' });
    const a = tf.variable(tf.tensor1d([1, 2]));
    tf.tidy(() => opt.update([{ key: 'a', variable: a }], [undefined], 0.1, 1));
    expect(Array.from(a.dataSync())).toEqual([1, 2]);
    expect(Object.keys(opt.exportSlots())).toEqual([]);
    expect(() => createOptimizer({ kind: 'sgd', momentum: 1 })).toThrow();
    expect(() => createOptimizer({ kind: 'sgd', nesterov: true })).toThrow(/nesterov/);
    expect(() => createOptimizer({ kind: 'adam', beta1: 1 })).toThrow();
    a.dispose();
  });
});
