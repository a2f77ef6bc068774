// The trainer's per-batch transform hook (CPU backend, real sklearn data): it sees every training
// batch once with its global step, never a validation batch; the model trains on exactly what it
// returns; no transform means no change at all; it leaks nothing and resumes bit-identically.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BatchContext, BatchTransform } from '../../../src/core/train/batchTransform.js';
import { evaluateDataset } from '../../../src/core/train/evaluate.js';
import { Trainer, type TrainerOptions } from '../../../src/core/train/trainer.js';
import { buildModel } from '../../../src/core/zoo/index.js';
import { tabularAugmentation } from '../../../src/data/augment.js';
import { loadSklearn } from '../../support/datasets.js';
import { bitsEqual, weightsOf } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const wine = loadSklearn('wine', { testFraction: 0.3, seed: 4 });
const opts: TrainerOptions = { task: 'classification', batchSize: 16, seed: 3, optimizer: { kind: 'adam' }, lr: { lr: 1e-2 } };
const mlp = () => buildModel('mlp', { inputShape: [13], classes: 3, width: 0.125, seed: 5 });

async function train(transformBatch: BatchTransform | undefined, data = wine.train, epochs = 3) {
  const model = mlp();
  const trainer = new Trainer(model, data, { ...opts, transformBatch });
  const r = await trainer.fit({ epochs, validation: wine.test });
  trainer.dispose();
  return { model, r, weights: weightsOf(model) };
}

describe('transformBatch', () => {
  it('is called once per training step with the global step, and never on validation batches', async () => {
    const seen: Array<BatchContext & { rows: number }> = [];
    const { model, r } = await train((x, ctx) => {
      seen.push({ ...ctx, rows: x.shape[0]! });
      return x;
    });
    const spe = Math.ceil(wine.train.y.length / 16);
    expect(seen.map((c) => c.step)).toEqual(Array.from({ length: 3 * spe }, (_, i) => i));
    expect(seen.map((c) => c.epoch)).toEqual(Array.from({ length: 3 * spe }, (_, i) => Math.floor(i / spe)));
    expect(seen.every((c) => c.seed === 3)).toBe(true);
    // training batches only: 16 rows, or the epoch's remainder; the 54-row validation set is never passed
    expect(new Set(seen.map((c) => c.rows))).toEqual(new Set([16, wine.train.y.length % 16]));
    // evaluation is unaffected: the epoch's validation numbers are those of a plain evaluation
    expect(r.history[2]!.valLoss).toBe(evaluateDataset(model, wine.test, 'classification').loss);
    model.dispose();
  });

  it('the model trains on exactly what it returns', async () => {
    // negating every batch == training on the negated dataset
    const viaHook = await train((x) => tf.neg(x));
    const negated = await train(undefined, { ...wine.train, x: wine.train.x.map((v) => -v) });
    expect(bitsEqual(viaHook.weights, negated.weights)).toBe(true);
    const plain = await train(undefined);
    expect(bitsEqual(viaHook.weights, plain.weights)).toBe(false);
    // a transform that copies changes nothing
    const copied = await train((x) => tf.clone(x));
    expect(bitsEqual(copied.weights, plain.weights)).toBe(true);
    for (const m of [viaHook, negated, plain, copied]) m.model.dispose();
  });

  it('leaks no tensors, whatever it allocates, and refuses a changed shape', async () => {
    const model = mlp();
    const hook: BatchTransform = (x) => tf.add(tf.mul(x, 1.01), tf.zerosLike(x));
    const trainer = new Trainer(model, wine.train, { ...opts, transformBatch: hook });
    await trainer.fit({ epochs: 1 }); // creates the optimizer slots
    const before = tf.memory().numTensors;
    await trainer.fit({ epochs: 3, validation: wine.test });
    expect(tf.memory().numTensors).toBe(before);
    trainer.dispose();
    const bad = new Trainer(model, wine.train, { ...opts, transformBatch: (x) => tf.slice(x, [0, 0], [-1, 12]) });
    const atBad = tf.memory().numTensors;
    await expect(bad.fit({ epochs: 1 })).rejects.toThrow(/keep the batch's shape and dtype/);
    expect(tf.memory().numTensors).toBe(atBad);
    bad.dispose();
    model.dispose();
  });

  it('with seeded noise augmentation a run resumed from an exported state is bit-identical', async () => {
    const noise = tabularAugmentation({ noise: 0.3 }, 8);
    const straight = await train(noise);
    const m1 = mlp();
    const t1 = new Trainer(m1, wine.train, { ...opts, transformBatch: noise });
    await t1.fit({ epochs: 3, maxSteps: 13 }); // stops mid-epoch
    const saved = t1.exportState();
    const m2 = mlp();
    const t2 = new Trainer(m2, wine.train, { ...opts, transformBatch: tabularAugmentation({ noise: 0.3 }, 8) });
    t2.importState(saved);
    await t2.fit({ epochs: 3 });
    expect(bitsEqual(weightsOf(m2), straight.weights)).toBe(true);
    // and the noise did change training
    const plain = await train(undefined);
    expect(bitsEqual(plain.weights, straight.weights)).toBe(false);
    for (const t of [t1, t2]) t.dispose();
    for (const m of [m1, m2, straight.model, plain.model]) m.dispose();
  });
});
