// The whole comparison on real data (sklearn's 8×8 digits, test split never trained on), on WASM.
import { beforeAll, describe, expect, it } from 'vitest';
import { ComparisonAbortedError, compareQuantization } from '../../../src/core/pipeline/compare.js';
import * as tf from '../../../src/core/tf.js';
import { buildModel } from '../../../src/core/zoo/index.js';
import { selectBackend } from '../../../src/engine/backend.js';
import { loadSklearn } from '../../support/datasets.js';

const data = loadSklearn('digits', { testFraction: 0.25, seed: 0 });
const options = {
  task: 'classification' as const,
  floatEpochs: 25,
  qatEpochs: 4,
  batchSize: 32,
  optimizer: { kind: 'adam' as const },
  lr: 1e-3,
  qatLr: 1e-4,
  seed: 0,
  calibration: { samples: 500, observer: 'minmax' as const },
};

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('float vs PTQ vs QAT on sklearn digits (mlp)', () => {
  it('int8 QAT keeps float accuracy, and the integer reference agrees with the simulation', async () => {
    const phases: string[] = [];
    const model = buildModel('mlp', { inputShape: data.train.sampleShape, classes: data.classes, seed: 0 });
    const r = await compareQuantization(model, data.train, data.test, { ...options, onPhase: (p) => phases.push(p) });
    expect(phases).toEqual(['TRAINING_FLOAT', 'CALIBRATING', 'TRAINING_QAT', 'QUANTIZING', 'EVALUATING']);
    const float = r.float.metrics.accuracy!;
    const oneSample = 1 / data.test.y.length;
    expect(float).toBeGreaterThan(0.95);
    expect(r.qat.int8Reference.accuracy!).toBeGreaterThanOrEqual(float - 3 * oneSample);
    expect(Math.abs(r.qat.int8Reference.accuracy! - r.qat.metrics.accuracy!)).toBeLessThanOrEqual(oneSample);
    expect(r.qat.agreement).toBeGreaterThanOrEqual(0.995);
    expect(Math.abs(r.ptqStatic.int8Reference.accuracy! - r.ptqStatic.metrics.accuracy!)).toBeLessThanOrEqual(2 * oneSample);
    expect(r.bytes.total * 3.5).toBeLessThan(r.bytes.float32);
    expect(r.layers.map((l) => l.name)).toEqual(['fc1', 'fc2', 'logits']);
    r.qatModel.dispose();
    model.dispose();
  }, 120_000);

  it('at 4-bit weights QAT recovers at least half of what PTQ loses', async () => {
    const model = buildModel('mlp', { inputShape: data.train.sampleShape, classes: data.classes, seed: 0 });
    const r = await compareQuantization(model, data.train, data.test, { ...options, qatEpochs: 8, qatLr: 5e-4, qat: { weightBits: 4 } });
    const float = r.float.metrics.accuracy!;
    const ptqLoss = float - r.ptqStatic.metrics.accuracy!;
    const qatLoss = float - r.qat.metrics.accuracy!;
    // When 4-bit PTQ loses (almost) nothing there is nothing to recover: QAT must then not lose more.
    expect(qatLoss).toBeLessThanOrEqual(Math.max(ptqLoss / 2, 2 / data.test.y.length));
    r.qatModel.dispose();
    model.dispose();
  }, 120_000);

  it('a cancel stops it with ComparisonAbortedError naming the phase, leaking no tensors', async () => {
    const model = buildModel('mlp', { inputShape: data.train.sampleShape, classes: data.classes, seed: 0 });
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    let phase = '';
    const run = compareQuantization(model, data.train, data.test, {
      ...options,
      floatEpochs: 1,
      qatEpochs: 2,
      signal: controller.signal,
      onPhase: (p) => (phase = p),
      callbacks: { onStepEnd: () => (phase === 'TRAINING_QAT' ? controller.abort() : undefined) },
    });
    await expect(run).rejects.toThrow(ComparisonAbortedError);
    await expect(run).rejects.toThrow(/during TRAINING_QAT/);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  }, 60_000);
});
