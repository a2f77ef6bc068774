// Inference-mode evaluation agrees with a direct computation from model.predict, in any batch size.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate, evaluateDataset } from '../../../src/core/train/evaluate.js';
import { Trainer } from '../../../src/core/train/trainer.js';
import { buildModel } from '../../../src/core/zoo/index.js';
import { loadSklearn } from '../../support/datasets.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('evaluate', () => {
  it('classification: accuracy and mean cross-entropy as model.predict gives them', async () => {
    const d = loadSklearn('breast_cancer', { testFraction: 0.3, seed: 4 });
    const model = buildModel('mlp', { inputShape: [30], classes: 2, width: 0.125, seed: 4 });
    const trainer = new Trainer(model, d.train, { task: 'classification', batchSize: 32, seed: 4, optimizer: { kind: 'adam' }, lr: { lr: 1e-2 } });
    await trainer.fit({ epochs: 2 });
    const n = d.test.y.length;
    const x = tf.tensor(d.test.x, [n, 30]);
    const y = tf.tensor1d(d.test.y as Int32Array, 'int32');
    const logits = model.predict(x) as tf.Tensor;
    const pred = tf.argMax(logits, 1).dataSync();
    const acc = Array.from(pred).filter((p, i) => p === d.test.y[i]).length / n;
    const ce = tf.losses.softmaxCrossEntropy(tf.oneHot(y, 2), logits).dataSync()[0]!;
    for (const batch of [7, 64, 1000]) {
      const r = evaluate(model, x, y, 'classification', batch);
      expect(r.samples).toBe(n);
      expect(r.accuracy).toBeCloseTo(acc, 12);
      expect(r.loss).toBeCloseTo(ce, 5);
    }
    expect(acc).toBeGreaterThan(0.9); // breast cancer is nearly linearly separable
    expect(evaluateDataset(model, d.test, 'classification', 50).accuracy).toBeCloseTo(acc, 12);
    trainer.dispose();
    tf.dispose([x, y, logits]);
    model.dispose();
  });

  it('regression: MSE and MAE over every target', () => {
    const model = buildModel('mlp', { inputShape: [3], classes: 2, width: 0.125, seed: 1 });
    const x = tf.randomNormal([37, 3], 0, 1, 'float32', 3);
    const y = tf.randomNormal([37, 2], 0, 1, 'float32', 4);
    const p = model.predict(x) as tf.Tensor;
    const mse = tf.mean(tf.square(tf.sub(p, y))).dataSync()[0]!;
    const mae = tf.mean(tf.abs(tf.sub(p, y))).dataSync()[0]!;
    const r = evaluate(model, x, y, 'regression', 10);
    expect(r.mse).toBeCloseTo(mse, 5);
    expect(r.loss).toBe(r.mse);
    expect(r.mae).toBeCloseTo(mae, 5);
    expect(r.accuracy).toBeUndefined();
    tf.dispose([x, y, p]);
    model.dispose();
  });

  it('does not change batch-norm statistics (inference mode)', () => {
    const model = buildModel('ds-cnn', { inputShape: [8, 8, 1], classes: 10, width: 0.25, seed: 2 });
    const before = model.getLayer('stem_bn').getWeights().map((w) => Array.from(w.dataSync()));
    const x = tf.randomUniform([16, 8, 8, 1], 0, 1, 'float32', 5);
    evaluate(model, x, tf.zeros([16], 'int32'), 'classification');
    expect(model.getLayer('stem_bn').getWeights().map((w) => Array.from(w.dataSync()))).toEqual(before);
    x.dispose();
    model.dispose();
  });
});
