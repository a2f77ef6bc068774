// Data-parallel merging (DESIGN §5): with plain SGD, shards that each take one step from the same
// weights and are then averaged by sample count land where one step on the union batch lands.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { averageStates } from '../../../src/core/train/averageStates.js';
import type { TrainState } from '../../../src/core/train/state.js';
import { Trainer, type TrainerOptions } from '../../../src/core/train/trainer.js';
import { buildModel } from '../../../src/core/zoo/index.js';
import { loadSklearn } from '../../support/datasets.js';
import { head, range } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const wine = loadSklearn('wine', { testFraction: 0.2, seed: 8 });

/** One SGD step on all of `data` as a single batch, from the model built with seed 5. */
async function oneStep(data: typeof wine.train, extra: Partial<TrainerOptions> = {}): Promise<TrainState> {
  const model = buildModel('mlp', { inputShape: [13], classes: 3, width: 0.25, seed: 5 });
  const n = data.y.length;
  const trainer = new Trainer(model, data, { task: 'classification', batchSize: n, shuffle: false, optimizer: { kind: 'sgd' }, lr: { lr: 0.5 }, ...extra });
  await trainer.fit({ epochs: 1 });
  const s = trainer.exportState();
  trainer.dispose();
  model.dispose();
  return s;
}

/** max |a - b| / max |b| per tensor: relative error of the whole tensor. */
function worstRelative(a: TrainState, b: TrainState): number {
  let worst = 0;
  for (const [k, rb] of Object.entries(b.weights)) {
    const ra = a.weights[k]!.data;
    let diff = 0;
    let mag = 0;
    rb.data.forEach((v, i) => {
      diff = Math.max(diff, Math.abs(ra[i]! - v));
      mag = Math.max(mag, Math.abs(v));
    });
    worst = Math.max(worst, diff / mag);
  }
  return worst;
}

describe('averageStates', () => {
  it('SGD, 2 shards × 1 step, sample-weighted = 1 step on the union batch (within 1e-5 relative)', async () => {
    const union = head(wine.train, 64);
    const a = range(union, 0, 40);
    const b = range(union, 40, 64);
    const [sa, sb, su] = await Promise.all([oneStep(a), oneStep(b), oneStep(union)]);
    const merged = averageStates([sa, sb], [40, 24]);
    expect(merged.step).toBe(1);
    expect(worstRelative(merged, su)).toBeLessThan(1e-5);
    // the test can tell: the step moved the weights far more than the tolerance, and an unweighted
    // mean (the wrong merge for unequal shards) misses
    const start = await oneStep(union, { lr: { lr: 1e-30 } });
    expect(worstRelative(start, su)).toBeGreaterThan(1e-3);
    expect(worstRelative(averageStates([sa, sb], [1, 1]), su)).toBeGreaterThan(1e-4);
  });

  it('averages optimizer slots too, and min/max reductions serve range observers', async () => {
    const data = head(wine.train, 32);
    const mom = { optimizer: { kind: 'sgd' as const, momentum: 0.9 } };
    const [s1, s2] = await Promise.all([oneStep(range(data, 0, 16), mom), oneStep(range(data, 16, 32), mom)]);
    const m = averageStates([s1, s2], [3, 1]);
    const k = 'fc1/kernel/momentum';
    m.optimizer.slots[k]!.data.forEach((v, i) => {
      expect(v).toBeCloseTo(0.75 * s1.optimizer.slots[k]!.data[i]! + 0.25 * s2.optimizer.slots[k]!.data[i]!, 6);
    });
    const lo = averageStates([s1, s2], [1, 1], { reduction: (n) => (n === 'fc1/bias' ? 'min' : n === 'fc2/bias' ? 'max' : 'mean') });
    lo.weights['fc1/bias']!.data.forEach((v, i) => expect(v).toBe(Math.min(s1.weights['fc1/bias']!.data[i]!, s2.weights['fc1/bias']!.data[i]!)));
    lo.weights['fc2/bias']!.data.forEach((v, i) => expect(v).toBe(Math.max(s1.weights['fc2/bias']!.data[i]!, s2.weights['fc2/bias']!.data[i]!)));
  });

  it('rejects states that cannot be merged', async () => {
    const s = await oneStep(head(wine.train, 16));
    expect(() => averageStates([], [])).toThrow();
    expect(() => averageStates([s, s], [1])).toThrow(/sample counts/);
    expect(() => averageStates([s, { ...s, step: 2 }], [1, 1])).toThrow(/different steps/);
    expect(() => averageStates([s, s], [0, 0])).toThrow(/zero/);
    const { ['fc1/bias']: _dropped, ...rest } = s.weights;
    expect(() => averageStates([s, { ...s, weights: rest }], [1, 1])).toThrow(/fc1\/bias/);
    const merged = averageStates([s, s], [2, 5]);
    expect(merged.weights['fc1/kernel']!.data).toEqual(s.weights['fc1/kernel']!.data);
  });
});
