// Every zoo model, saved with model.save and imported back, predicts exactly what it did, on real MNIST
// digits and on each TF.js backend; the import reports what it found and leaks nothing.
import type * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import * as tf from '../../../src/core/tf.js';
import { MODEL_NAMES, buildModel } from '../../../src/core/zoo/index.js';
import { checkCompatibility, importModel } from '../../../src/data/model/index.js';
import { BACKENDS, useBackend } from '../../support/backends.js';
import { loadMnist } from '../../support/datasets.js';
import { predict, saveModel } from './helpers.js';

const mnist = loadMnist({ train: 100, test: 64, seed: 3 });
const digits = mnist.test;
const shape = [digits.y.length, 28, 28, 1];

/** Batch-norm statistics away from their initial 0/1, so that importing them is actually tested. */
function perturbBatchNorm(model: tfl.LayersModel): void {
  for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
    const n = layer.getWeights()[0]!.shape[0]!;
    const w = [tf.randomUniform([n], 0.5, 1.5, 'float32', 1), tf.randomUniform([n], -0.3, 0.3, 'float32', 2), tf.randomUniform([n], -0.2, 0.2, 'float32', 3), tf.randomUniform([n], 0.5, 2, 'float32', 4)];
    layer.setWeights(w);
    tf.dispose(w);
  }
}

describe.each(BACKENDS)('round trip of the zoo models on %s', (backend) => {
  it.each(MODEL_NAMES)('%s: same predictions on real digits, same parameters, no leak', async (name) => {
    await useBackend(backend);
    const original = buildModel(name, { inputShape: [28, 28, 1], classes: 10, seed: 5 });
    perturbBatchNorm(original);
    // ds-cnn's weights go in three shards, as the converter splits large models.
    const saved = await saveModel(original, name === 'ds-cnn' ? 3 : 1);
    const before = tf.memory().numTensors;
    const { model, info } = await importModel({ modelJson: JSON.stringify(saved.json), weights: saved.weights }, { maxParams: 1_000_000 });

    expect(tf.memory().numTensors - before).toBe(model.weights.length); // the dry QAT check kept nothing
    expect(info).toMatchObject({ format: 'tfjs-layers', name, params: original.countParams(), inputShape: [28, 28, 1], outputShape: [10], outputActivation: 'linear', hasWeights: true, unsupportedLayers: [] });
    expect(info.layers).toEqual(original.layers.map((l) => ({ name: l.name, className: l.getClassName() })));
    const expected = predict(original, digits.x, shape);
    expect(predict(model, digits.x, shape)).toEqual(expected);
    // The trained-from-scratch model is no classifier yet, but its outputs are real numbers per digit.
    expect(expected.length).toBe(digits.y.length * 10);
    expect(() => checkCompatibility(info, { sampleShape: [28, 28, 1], task: 'classification', classes: 10 })).not.toThrow();

    model.dispose();
    original.dispose();
    expect(tf.memory().numTensors).toBeLessThan(before);
  });
});
