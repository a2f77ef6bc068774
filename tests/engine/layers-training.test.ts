// Training TF.js layers on WASM with the project's kernels gives the gradients the CPU backend gives.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/engine/backend.js';
import { liveCounts, relativeError, rng, values } from './helpers.js';

/** Gradients of a loss w.r.t. every trainable weight, with weights and data from fixed seeds. */
async function weightGradients(
  backend: string,
  build: () => tfl.Sequential,
  input: () => tf.Tensor,
  loss: (out: tf.Tensor) => tf.Scalar,
): Promise<Float32Array[]> {
  const previous = tf.getBackend();
  await tf.setBackend(backend);
  const model = build();
  try {
    const next = rng(3);
    model.setWeights(model.getWeights().map((w) => tf.tensor(values(next, w.shape), w.shape)));
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const before = liveCounts();
    const { value, grads } = tf.variableGrads(() => tf.tidy(() => loss(model.apply(input()) as tf.Tensor)), vars);
    const arrays = vars.map((v) => Float32Array.from(grads[v.name]!.dataSync() as Float32Array));
    tf.dispose([value, ...Object.values(grads)]);
    // The gradient computation gives back everything: only the weights stay.
    expect(liveCounts().tensors).toBe(before.tensors);
    return arrays;
  } finally {
    model.dispose();
    await tf.setBackend(previous);
  }
}

describe('layer training on WASM', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('Conv2D, DepthwiseConv2D and SeparableConv2D gradients match the CPU backend', async () => {
    const build = () => {
      const m = tfl.sequential();
      m.add(tfl.layers.conv2d({ inputShape: [12, 12, 2], filters: 4, kernelSize: 3, strides: 2, padding: 'same' }));
      m.add(tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'relu' }));
      m.add(tfl.layers.separableConv2d({ filters: 5, kernelSize: 3, depthMultiplier: 1, padding: 'valid' }));
      m.add(tfl.layers.flatten());
      m.add(tfl.layers.dense({ units: 3 }));
      return m;
    };
    const input = () => tf.tensor4d(values(rng(4), [3, 12, 12, 2]), [3, 12, 12, 2]);
    const loss = (out: tf.Tensor): tf.Scalar => tf.sum(tf.square(out));
    const cpu = await weightGradients('cpu', build, input, loss);
    const wasm = await weightGradients('wasm', build, input, loss);
    expect(wasm.length).toBe(cpu.length);
    cpu.forEach((expected, i) => expect(relativeError(wasm[i]!, expected), `weight ${i}`).toBeLessThan(1e-4));
  });

  it('Embedding gradients match the CPU backend', async () => {
    const build = () => {
      const m = tfl.sequential();
      m.add(tfl.layers.embedding({ inputDim: 10, outputDim: 4, inputLength: 6 }));
      m.add(tfl.layers.flatten());
      m.add(tfl.layers.dense({ units: 2 }));
      return m;
    };
    const input = () => tf.tensor2d(Array.from({ length: 24 }, (_, i) => (i * 3) % 10), [4, 6], 'int32');
    const loss = (out: tf.Tensor): tf.Scalar => tf.sum(tf.square(out));
    const cpu = await weightGradients('cpu', build, input, loss);
    const wasm = await weightGradients('wasm', build, input, loss);
    cpu.forEach((expected, i) => expect(relativeError(wasm[i]!, expected), `weight ${i}`).toBeLessThan(1e-4));
  });
});
