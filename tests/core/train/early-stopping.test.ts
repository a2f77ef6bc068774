// Early stopping on real data (sklearn digits, CPU backend). The validation set is split off the
// training split with src/data's stratified split, as the pipeline's callers do; a 40-sample train set
// makes the mlp overfit, so validation loss turns up long before the epoch limit. The model that comes
// back holds the best epoch's weights, non-trainable ones (QAT observer ranges) included.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareQat } from '../../../src/core/qat/prepare.js';
import type { EpochLog } from '../../../src/core/train/callbacks.js';
import { EarlyStopping } from '../../../src/core/train/earlyStopping.js';
import { evaluateDataset } from '../../../src/core/train/evaluate.js';
import { Trainer, type TrainerOptions } from '../../../src/core/train/trainer.js';
import { buildModel } from '../../../src/core/zoo/index.js';
import { splitDataset } from '../../../src/data/split.js';
import { loadSklearn } from '../../support/datasets.js';
import { bitsEqual, head, weightsOf } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const digits = loadSklearn('digits', { testFraction: 0.25, seed: 0 });
const { train, test: validation } = splitDataset(digits.train, 'classification', { testFraction: 0.2, seed: 0 });
const tiny = head(train, 40);
const opts: TrainerOptions = { task: 'classification', batchSize: 16, seed: 1, optimizer: { kind: 'adam' }, lr: { lr: 1e-2 } };
const mlp = () => buildModel('mlp', { inputShape: [64], classes: 10, width: 0.25, seed: 1 });

/** Fits with early stopping, recording every epoch's weights (all of them, non-trainable included). */
async function fitRecording(model: LayersModel, es: EarlyStopping, epochs: number) {
  const trainer = new Trainer(model, tiny, opts);
  const perEpoch: Array<Record<string, Float32Array>> = [];
  const ends: EpochLog[] = [];
  const r = await trainer.fit({
    epochs,
    validation,
    earlyStopping: es,
    callbacks: {
      onEpochEnd: (log) => {
        ends.push(log);
        perEpoch.push(weightsOf(model));
      },
    },
  });
  trainer.dispose();
  return { r, perEpoch, ends };
}

const argmin = (v: number[]) => v.indexOf(Math.min(...v));

describe('early stopping', () => {
  it('stops an overfitting run long before its epoch limit and restores the best epoch exactly', async () => {
    const model = mlp();
    const es = new EarlyStopping({ patience: 5 });
    const { r, perEpoch, ends } = await fitRecording(model, es, 200);
    expect(r.stop).toBe('early-stopped');
    expect(r.history.length).toBeLessThan(50);
    // the callbacks saw the validation metrics of every epoch
    expect(ends.every((e) => e.valLoss! > 0 && e.valAccuracy! > 0)).toBe(true);
    const losses = r.history.map((h) => h.valLoss!);
    expect(es.bestEpoch).toBe(argmin(losses));
    expect(r.history.length - 1 - es.bestEpoch!).toBe(5); // patience epochs after the best, no more
    expect(losses[losses.length - 1]).toBeGreaterThan(es.bestValue); // it did overfit
    const best = es.bestEpoch!;
    expect(bitsEqual(weightsOf(model), perEpoch[best]!)).toBe(true);
    expect(bitsEqual(weightsOf(model), perEpoch[perEpoch.length - 1]!)).toBe(false);
    expect(evaluateDataset(model, validation, 'classification').loss).toBe(r.history[best]!.valLoss);
    es.dispose();
    model.dispose();
  });

  it('on a QAT model restores the observer ranges too (every non-trainable weight)', async () => {
    const float = mlp();
    const { model } = prepareQat(float, { emaDecay: 0.9 });
    const es = new EarlyStopping({ patience: 3, metric: 'accuracy' });
    const { r, perEpoch } = await fitRecording(model, es, 200);
    expect(r.stop).toBe('early-stopped');
    const best = es.bestEpoch!;
    expect(best).toBe(r.history.map((h) => h.valAccuracy!).indexOf(es.bestValue)); // the first epoch reaching the max
    const trainable = new Set(model.trainableWeights.map((w) => w.originalName));
    const last = perEpoch[perEpoch.length - 1]!;
    const movedState = Object.keys(last).filter((k) => !trainable.has(k) && !bitsEqual({ k: last[k]! }, { k: perEpoch[best]![k]! }));
    expect(movedState.length).toBeGreaterThan(0); // observer ranges moved after the best epoch...
    expect(bitsEqual(weightsOf(model), perEpoch[best]!)).toBe(true); // ...and are back
    expect(evaluateDataset(model, validation, 'classification').accuracy).toBe(es.bestValue);
    es.dispose();
    model.dispose();
    float.dispose();
  });

  it('a run that completes without running out of patience still ends on its best epoch', async () => {
    const model = mlp();
    const es = new EarlyStopping({ patience: 100 });
    const { r, perEpoch } = await fitRecording(model, es, 20);
    expect(r.stop).toBe('completed');
    expect(r.history.length).toBe(20);
    expect(es.bestEpoch).toBeLessThan(19);
    expect(bitsEqual(weightsOf(model), perEpoch[es.bestEpoch!]!)).toBe(true);
    es.dispose();
    model.dispose();
  });

  it('validation only observes: the same run with and without it ends with bit-identical weights', async () => {
    const runs = [];
    for (const withValidation of [false, true]) {
      const float = mlp();
      const { model } = prepareQat(float, { emaDecay: 0.9 });
      const trainer = new Trainer(model, tiny, opts);
      const r = await trainer.fit({ epochs: 4, ...(withValidation ? { validation } : {}) });
      expect(r.history.every((h) => (h.valLoss !== undefined) === withValidation)).toBe(true);
      runs.push(weightsOf(model));
      trainer.dispose();
      model.dispose();
      float.dispose();
    }
    expect(bitsEqual(runs[0]!, runs[1]!)).toBe(true);
  });

  it('counts patience and minDelta as documented', () => {
    const model = mlp();
    const es = new EarlyStopping({ patience: 2, minDelta: 0.05 });
    const log = (epoch: number, valLoss: number): EpochLog => ({ epoch, steps: 1, samples: 1, loss: 0, valLoss });
    expect(es.observe(log(0, Number.NaN), model)).toBe(false); // no finite value: nothing to keep
    expect(es.bestEpoch).toBeNull();
    expect(es.restoreBest()).toBe(false);
    expect(es.observe(log(1, 1.0), model)).toBe(false);
    expect(es.observe(log(2, 0.96), model)).toBe(false); // within minDelta: not an improvement
    expect([es.bestEpoch, es.wait]).toEqual([1, 1]);
    expect(es.observe(log(3, 0.9), model)).toBe(false); // 0.9 < 1.0 - 0.05
    expect([es.bestEpoch, es.wait]).toEqual([3, 0]);
    expect(es.observe(log(4, 0.91), model)).toBe(false);
    expect(es.observe(log(5, 0.86), model)).toBe(true); // second epoch without beating 0.9 - 0.05
    expect(es.stopped).toBe(true);
    expect(es.restoreBest()).toBe(true);
    expect(es.restoreBest()).toBe(false); // already holds it
    es.dispose();
    model.dispose();
  });

  it('refuses bad settings and a missing validation set, and leaks no tensors', async () => {
    expect(() => new EarlyStopping({ patience: 0 })).toThrow(/patience/);
    expect(() => new EarlyStopping({ patience: 1.5 })).toThrow(/patience/);
    expect(() => new EarlyStopping({ patience: 2, minDelta: -1 })).toThrow(/minDelta/);
    expect(() => new EarlyStopping({ patience: 2, metric: 'f1' as 'loss' })).toThrow(/metric/);
    const model = mlp();
    const trainer = new Trainer(model, tiny, opts);
    await trainer.fit({ epochs: 1 }); // optimizer slots exist from here on
    const before = tf.memory().numTensors;
    const es = new EarlyStopping({ patience: 2 });
    await expect(trainer.fit({ epochs: 3, earlyStopping: es })).rejects.toThrow(/validation/);
    await trainer.fit({ epochs: 12, validation, earlyStopping: es });
    es.dispose();
    expect(tf.memory().numTensors).toBe(before);
    trainer.dispose();
    model.dispose();
    const diabetes = loadSklearn('diabetes', { seed: 0 });
    const reg = buildModel('mlp', { inputShape: [10], classes: 1, width: 0.125, seed: 1 });
    const rt = new Trainer(reg, diabetes.train, { ...opts, task: 'regression' });
    const acc = new EarlyStopping({ patience: 2, metric: 'accuracy' });
    await expect(rt.fit({ epochs: 1, validation: diabetes.test, earlyStopping: acc })).rejects.toThrow(/classification/);
    acc.dispose();
    rt.dispose();
    reg.dispose();
  });
});
