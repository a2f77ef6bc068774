// heapSlice, the project's copy-only-the-slice replacement for WASM's Slice, against tf.slice.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/engine/backend.js';
import { heapSlice } from '../../src/engine/kernels/wasm/heap-slice.js';
import { liveCounts, randomInt, rng, values } from './helpers.js';

describe('heapSlice', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('equals tf.slice on random shapes of rank 1 to 5, and allocates only its result', () => {
    const next = rng(99);
    for (let trial = 0; trial < 60; trial++) {
      const rank = randomInt(next, 1, 5);
      const shape = Array.from({ length: rank }, () => randomInt(next, 1, 6));
      const begin = shape.map((d) => randomInt(next, 0, d - 1));
      const size = shape.map((d, k) => randomInt(next, 1, d - (begin[k] as number)));
      const x = tf.tensor(values(next, shape), shape);
      const expected = tf.slice(x, begin, size);
      const before = liveCounts();
      const actual = heapSlice(x, begin, size);
      expect(liveCounts()).toEqual({ tensors: before.tensors + 1, buffers: before.buffers + 1 });
      expect(actual.shape).toEqual(size);
      expect(Array.from(actual.dataSync()), JSON.stringify({ shape, begin, size })).toEqual(Array.from(expected.dataSync()));
      tf.dispose([x, expected, actual]);
    }
  });

  it('keeps int32 data and dtype', () => {
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32');
    const s = heapSlice(x, [1, 0], [2, 2]);
    expect(s.dtype).toBe('int32');
    expect(Array.from(s.dataSync())).toEqual([3, 4, 5, 6]);
    tf.dispose([x, s]);
  });
});
