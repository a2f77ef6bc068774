// The engine's fused training batch norm (src/engine/kernels/wasm/bn-training.ts, SIMD loops in simd.ts)
// against core's op-by-op form on the same WASM backend: output, batch statistics and all three
// gradients bit for bit, on conv maps (SIMD), dense activations, channel counts that are not a multiple
// of 4 (JavaScript loops), a single row, far-from-zero means and NaN; and the op uses it on WASM only.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import * as core from '../../src/core/qat/layers/batchNormTraining.js';
import { selectBackend } from '../../src/engine/backend.js';
import { BN_TRAIN, BN_TRAIN_GRAD } from '../../src/engine/kernels/wasm/bn-training.js';
import { simdKernels } from '../../src/engine/kernels/wasm/simd.js';
import { rng, values } from './helpers.js';

const sameBits = (what: string, a: Float32Array, b: Float32Array) => {
  expect(a.length, what).toBe(b.length);
  const bad: string[] = [];
  for (let i = 0; i < a.length && bad.length < 5; i++) if (!Object.is(a[i], b[i])) bad.push(`[${i}] ${a[i]} vs ${b[i]}`);
  expect(bad, what).toEqual([]);
};

type Form = typeof core.batchNormTraining;

const dataIds = () => (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();

/** y, the batch mean and variance, and dz, dgamma, dbeta for loss Σ y·w, by one form of the op. */
function run(form: Form, z: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, w: tf.Tensor, epsilon: number): Float32Array[] {
  return tf.tidy(() => {
    const stats: tf.Tensor[] = [];
    const f = (zi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      form(zi, g, b, epsilon, (mean, variance) => {
        tf.dispose(stats.splice(0, 2, tf.keep(mean.clone()), tf.keep(variance.clone())));
      });
    const y = f(z, gamma, beta);
    const grads = tf.grads((zi, g, b) => tf.sum(tf.mul(f(zi!, g!, b!), w)))([z, gamma, beta]);
    const out = [y, ...stats, ...grads].map((t) => Float32Array.from(t.dataSync() as Float32Array));
    tf.dispose(stats);
    return out;
  });
}

function inputs(shape: number[], seed: number, offset = 0) {
  const next = rng(seed);
  const c = shape[shape.length - 1]!;
  const zv = values(next, shape).map((v, i) => v * (1 + (i % c)) + offset);
  return {
    z: tf.tensor(zv, shape),
    gamma: tf.tensor1d(values(next, [c]).map((v) => v + 1.5)),
    beta: tf.tensor1d(values(next, [c])),
    w: tf.tensor(values(next, shape), shape),
  };
}

describe('fused training batch norm (WASM)', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('core and the engine name the kernels alike, and WASM has them', () => {
    expect([core.BN_TRAIN, core.BN_TRAIN_GRAD]).toEqual([BN_TRAIN, BN_TRAIN_GRAD]);
    expect(tf.getKernel(BN_TRAIN, 'wasm')).toBeDefined();
    expect(tf.getKernel(BN_TRAIN_GRAD, 'wasm')).toBeDefined();
    expect(tf.getKernel(BN_TRAIN, 'cpu')).toBeUndefined();
  });

  it('the op runs them on WASM (so the comparisons below compare two forms), with its SIMD loops loaded', async () => {
    const t = inputs([4, 3, 3, 8], 3);
    const fused = await tf.profile(() => {
      run(core.batchNormTraining, t.z, t.gamma, t.beta, t.w, 1e-3);
    });
    expect(fused.kernelNames).toEqual(expect.arrayContaining([BN_TRAIN, BN_TRAIN_GRAD]));
    const chain = await tf.profile(() => {
      run(core.compositeBatchNormTraining, t.z, t.gamma, t.beta, t.w, 1e-3);
    });
    expect(chain.kernelNames).not.toContain(BN_TRAIN);
    expect(simdKernels(tf.backend())?.bnNormalize).toBeTypeOf('function');
    tf.dispose(Object.values(t));
  });

  for (const [label, shape, offset] of [
    ['conv map, 16 channels (SIMD)', [16, 26, 26, 16], 0],
    ['conv map, 32 channels (SIMD)', [8, 11, 11, 32], 0],
    ['conv map, 6 channels (loops)', [4, 5, 5, 6], 0],
    ['dense, 12 features (SIMD)', [37, 12], 0],
    ['dense, 5 features (loops)', [9, 5], 0],
    ['one row', [1, 8], 0],
    ['means far from zero', [6, 7, 7, 8], 1000],
  ] as const) {
    it(`${label}: y, batch statistics and gradients equal the op-by-op form bit for bit`, () => {
      const t = inputs([...shape], shape.length * 31 + shape[shape.length - 1]!, offset);
      const before = [tf.memory().numTensors, dataIds()];
      const fused = run(core.batchNormTraining, t.z, t.gamma, t.beta, t.w, 1e-3);
      const reference = run(core.compositeBatchNormTraining, t.z, t.gamma, t.beta, t.w, 1e-3);
      // No tensor and no backend buffer (accumulators, coefficient tables) left behind.
      expect([tf.memory().numTensors, dataIds()]).toEqual(before);
      for (const [k, what] of ['y', 'mean', 'variance', 'dz', 'dgamma', 'dbeta'].entries()) sameBits(`${label}: ${what}`, fused[k]!, reference[k]!);
      tf.dispose(Object.values(t));
    });
  }

  it('a NaN in a channel makes that channel NaN in both forms (and leaves the others alone)', () => {
    const t = inputs([4, 3, 3, 8], 7);
    const zv = t.z.dataSync().slice();
    zv[8 * 5 + 2] = Number.NaN;
    const z = tf.tensor(zv, t.z.shape);
    const fused = run(core.batchNormTraining, z, t.gamma, t.beta, t.w, 1e-3);
    const reference = run(core.compositeBatchNormTraining, z, t.gamma, t.beta, t.w, 1e-3);
    for (let k = 0; k < 6; k++) sameBits(`output ${k}`, fused[k]!, reference[k]!);
    expect(Number.isNaN(fused[1]![2]!)).toBe(true);
    expect(Number.isFinite(fused[1]![3]!)).toBe(true);
    tf.dispose([z, ...Object.values(t)]);
  });
});
