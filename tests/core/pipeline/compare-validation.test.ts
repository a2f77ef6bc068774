// Validation, early stopping and augmentation through the whole comparison (sklearn digits, mlp, WASM).
// The validation set is split off the training split with src/data's stratified split, as callers do;
// the test split stays apart from both.
import { beforeAll, describe, expect, it } from 'vitest';
import { type CompareOptions, compareQuantization } from '../../../src/core/pipeline/compare.js';
import * as tf from '../../../src/core/tf.js';
import type { EpochLog } from '../../../src/core/train/callbacks.js';
import type { Dataset } from '../../../src/core/train/dataset.js';
import { evaluateDataset } from '../../../src/core/train/evaluate.js';
import { buildModel } from '../../../src/core/zoo/index.js';
import { splitDataset } from '../../../src/data/split.js';
import { selectBackend } from '../../../src/engine/backend.js';
import { loadSklearn } from '../../support/datasets.js';
import { head } from '../train/helpers.js';

const data = loadSklearn('digits', { testFraction: 0.25, seed: 0 });
const { train, test: validation } = splitDataset(data.train, 'classification', { testFraction: 0.2, seed: 0 });
const options: CompareOptions = {
  task: 'classification',
  floatEpochs: 3,
  qatEpochs: 2,
  batchSize: 32,
  optimizer: { kind: 'adam' },
  lr: 1e-3,
  qatLr: 1e-4,
  seed: 0,
  calibration: { samples: 500, observer: 'minmax' },
};
const mlp = () => buildModel('mlp', { inputShape: [64], classes: data.classes, seed: 0 });

function rows(d: Dataset): string[] {
  const size = d.sampleShape.reduce((a, b) => a * b, 1);
  return Array.from({ length: d.x.length / size }, (_, i) => d.x.subarray(i * size, (i + 1) * size).join(','));
}

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('validation split', () => {
  it('is carved out of the training split: disjoint from what trains and from the test split', () => {
    // digits has no duplicate images, so row contents identify samples
    const t = new Set(rows(data.test));
    const tr = new Set(rows(train));
    const v = rows(validation);
    expect(v.length).toBe(Math.round(data.train.y.length * 0.2));
    expect(v.length + tr.size).toBe(data.train.y.length);
    expect(v.filter((r) => t.has(r) || tr.has(r))).toEqual([]);
    // stratified: every class is represented
    expect(new Set(validation.y).size).toBe(data.classes);
  });

  it('is refused when it is the test split, and early stopping without one is refused, before any work', async () => {
    const model = mlp();
    const before = tf.memory().numTensors;
    await expect(compareQuantization(model, train, data.test, { ...options, validation: data.test })).rejects.toThrow(/not be the test split/);
    await expect(compareQuantization(model, train, data.test, { ...options, earlyStopping: { patience: 2 } })).rejects.toThrow(/needs a validation set/);
    await expect(compareQuantization(model, train, data.test, { ...options, validation, earlyStopping: { patience: 0 } })).rejects.toThrow(/patience/);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('compareQuantization with validation', () => {
  it('validation and an identity augmentation only observe: the same numbers as a plain run, and the hook sees training batches only', async () => {
    const plainModel = mlp();
    const plain = await compareQuantization(plainModel, train, data.test, options);
    expect(plain.float.training.history.every((h) => h.valLoss === undefined)).toBe(true);
    expect(plain.float.training.bestEpoch).toBeUndefined();

    const model = mlp();
    const rowsSeen: number[] = [];
    const r = await compareQuantization(model, train, data.test, {
      ...options,
      validation,
      transformBatch: (x) => {
        rowsSeen.push(x.shape[0]!);
        return x;
      },
    });
    for (const k of ['float', 'ptqDynamic', 'ptqStatic', 'qat'] as const) expect(r[k].metrics).toEqual(plain[k].metrics);
    expect(r.qat.int8Reference).toEqual(plain.qat.int8Reference);
    expect(r.float.training.history.map((h) => h.loss)).toEqual(plain.float.training.history.map((h) => h.loss));
    expect(r.qat.training.history.map((h) => h.loss)).toEqual(plain.qat.training.history.map((h) => h.loss));
    expect(r.float.training.history.every((h) => h.valLoss! > 0 && h.valAccuracy! > 0.5)).toBe(true);
    expect(r.qat.training.history.map((h) => h.epoch)).toEqual([0, 1]);
    // once per training step of either phase, never for calibration, validation or test batches
    const spe = Math.ceil(train.y.length / 32);
    expect(rowsSeen.length).toBe((options.floatEpochs + options.qatEpochs) * spe);
    expect(new Set(rowsSeen)).toEqual(new Set([32, train.y.length % 32]));
    for (const x of [plain, r]) x.qatModel.dispose();
    plainModel.dispose();
    model.dispose();
  }, 120_000);

  it('early stopping ends an overfitting run in both phases on the best epoch, reported and restored exactly, leaking nothing', async () => {
    const model = mlp();
    const before = tf.memory().numTensors;
    const ends: EpochLog[] = [];
    const r = await compareQuantization(model, head(train, 40), data.test, {
      ...options,
      floatEpochs: 200,
      qatEpochs: 60,
      batchSize: 16,
      lr: 1e-2,
      qatLr: 3e-3,
      validation,
      earlyStopping: { patience: 4 },
      callbacks: { onEpochEnd: (e) => void ends.push(e) },
    });
    for (const phase of [r.float.training, r.qat.training]) {
      const losses = phase.history.map((h) => h.valLoss!);
      expect(phase.bestEpoch).toBe(losses.indexOf(Math.min(...losses)));
      expect(phase.bestValue).toBe(losses[phase.bestEpoch!]);
      expect(phase.epochsRun).toBe(phase.history.length);
    }
    expect(r.float.training.stoppedEarly).toBe(true);
    expect(r.float.training.epochsRun).toBeLessThan(50);
    expect(r.float.training.epochsRun - 1 - r.float.training.bestEpoch!).toBe(4);
    expect(r.qat.training.stoppedEarly).toBe(true);
    expect(r.qat.training.epochsRun).toBeLessThan(60);
    expect(ends.length).toBe(r.float.training.epochsRun + r.qat.training.epochsRun);
    expect(ends.every((e) => e.valLoss !== undefined && e.valAccuracy !== undefined)).toBe(true);
    // the models hold their best epochs: re-evaluating them on validation gives the recorded best exactly
    expect(evaluateDataset(model, validation, 'classification').loss).toBe(r.float.training.bestValue);
    expect(evaluateDataset(r.qatModel, validation, 'classification').loss).toBe(r.qat.training.bestValue);
    expect(r.float.samplesPerS).toBeGreaterThan(0);
    r.qatModel.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  }, 120_000);
});
