// A softmax head is replaced by logits with the same weights: probabilities = softmax(new output).
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { withLogitsHead } from '../../../src/core/pipeline/logitsHead.js';
import * as tf from '../../../src/core/tf.js';
import { loadSklearn } from '../../support/datasets.js';
import { useBackend } from '../../support/backends.js';

describe('withLogitsHead', () => {
  beforeAll(() => useBackend('cpu'));
  const iris = loadSklearn('iris');
  const x = () => tf.tensor2d(iris.test.x.slice(0, 20 * 4) as Float32Array, [20, 4]);

  const build = (head: 'dense-softmax' | 'softmax-layer' | 'activation-softmax' | 'logits') => {
    const input = tfl.input({ shape: [4] });
    let h = tfl.layers.dense({ units: 8, activation: 'relu', name: 'hidden', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tfl.SymbolicTensor;
    h = tfl.layers.dense({ units: 3, activation: head === 'dense-softmax' ? 'softmax' : 'linear', name: 'out', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }).apply(h) as tfl.SymbolicTensor;
    if (head === 'softmax-layer') h = tfl.layers.softmax({ name: 'probs' }).apply(h) as tfl.SymbolicTensor;
    if (head === 'activation-softmax') h = tfl.layers.activation({ activation: 'softmax', name: 'probs' }).apply(h) as tfl.SymbolicTensor;
    return tfl.model({ inputs: input, outputs: h });
  };

  for (const head of ['dense-softmax', 'softmax-layer', 'activation-softmax'] as const) {
    it(`${head}: the rebuilt model outputs logits whose softmax is the original output`, async () => {
      const before = tf.memory().numTensors;
      const original = build(head);
      const { model, removedSoftmax } = await withLogitsHead(original);
      expect(removedSoftmax).toBe(true);
      expect(model).not.toBe(original);
      const input = x();
      const probs = original.predict(input) as tf.Tensor;
      const logits = model.predict(input) as tf.Tensor;
      expect(tf.tidy(() => tf.min(logits).dataSync()[0]!)).toBeLessThan(0); // logits, not probabilities
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(tf.softmax(logits), probs))).dataSync()[0]!)).toBeLessThan(1e-6);
      tf.dispose([input, probs, logits]);
      original.dispose();
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('leaves a logits model as it is', async () => {
    const original = build('logits');
    const r = await withLogitsHead(original);
    expect(r).toEqual({ model: original, removedSoftmax: false });
    original.dispose();
  });
});
