// The WASM UnsortedSegmentSum kernel registered by src/engine (gather's gradient needs it).
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/engine/backend.js';
import { liveCounts, onBackend, relativeError, rng, values } from './helpers.js';

describe('WASM UnsortedSegmentSum', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('gives gather (an embedding lookup) the same gradient as the CPU backend', async () => {
    const table = values(rng(1), [12, 5]);
    const ids = Int32Array.from({ length: 40 }, (_, i) => (i * 7) % 12);
    const upstream = values(rng(2), [8, 5, 5]);
    const run = (backend: string) =>
      onBackend(backend, () =>
        tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor2d(ids, [8, 5], 'int32')), tf.tensor3d(upstream, [8, 5, 5]))))(tf.tensor2d(table, [12, 5])),
      );
    const [cpu] = await run('cpu');
    const [wasm] = await run('wasm');
    expect(relativeError(wasm!, cpu!)).toBeLessThan(1e-5);
  });

  it('sums rows into their segments, drops out-of-range ids, keeps int32 and frees nothing it should not', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [5, 2], 'int32');
    const ids = tf.tensor1d([2, 0, 2, -1, 7], 'int32');
    const before = liveCounts();
    const out = tf.unsortedSegmentSum(x, ids, 3);
    expect(liveCounts()).toEqual({ tensors: before.tensors + 1, buffers: before.buffers + 1 });
    expect(out.dtype).toBe('int32');
    expect(out.shape).toEqual([3, 2]);
    expect(Array.from(out.dataSync())).toEqual([3, 4, 0, 0, 6, 8]);
    expect(Array.from(x.dataSync())).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    tf.dispose([x, ids, out]);
  });

  it('matches the CPU backend on float rows with a multi-axis inner shape', async () => {
    const xv = values(rng(3), [30, 3, 4]);
    const idv = Int32Array.from({ length: 30 }, (_, i) => (i * 5) % 9);
    const run = (backend: string) =>
      onBackend(backend, () => tf.unsortedSegmentSum(tf.tensor3d(xv, [30, 3, 4]), tf.tensor1d(idv, 'int32'), 9));
    const [cpu] = await run('cpu');
    const [wasm] = await run('wasm');
    expect(relativeError(wasm!, cpu!)).toBeLessThan(1e-5);
  });
});
