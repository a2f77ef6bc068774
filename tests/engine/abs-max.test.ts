// The engine's WASM QatAbsMax (src/engine/kernels/wasm/abs-max.ts, SIMD loop in simd.ts) against core's
// JavaScript kernel (src/core/quant/observerKernels.ts) and TF.js's own max(abs(x)) on the CPU backend:
// the same float32 bits, per tensor and per channel, NaN included; registration; no leaks.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchRange, registerObserverKernels, ABS_MAX as CORE_ABS_MAX } from '../../src/core/quant/observerKernels.js';
import { weightAbsMax } from '../../src/core/qat/layers/weights.js';
import { registerProjectKernels, selectBackend } from '../../src/engine/backend.js';
import { ABS_MAX, absMaxConfig, absMaxReference } from '../../src/engine/kernels/wasm/abs-max.js';
import { simdKernels } from '../../src/engine/kernels/wasm/simd.js';
import { liveCounts, randomInt, rng } from './helpers.js';

const bits = (v: ArrayLike<number>) => {
  const f = Float32Array.from(v);
  return Array.from(new Uint32Array(f.buffer), (b, i) => (Number.isNaN(f[i]!) ? -1 : b));
};

function randomCase(next: () => number): { shape: number[]; axis: number; data: Float32Array } {
  const rank = randomInt(next, 1, 4);
  const shape = Array.from({ length: rank }, () => randomInt(next, 1, rank === 1 ? 300 : 9));
  const axis = next() < 0.3 ? -1 : randomInt(next, 0, rank - 1);
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) {
    const r = next();
    data[i] = r < 0.05 ? [0, -0, 3, -3, Infinity, -Infinity][randomInt(next, 0, 5)]! : (next() * 2 - 1) * 3;
  }
  if (next() < 0.15) data[randomInt(next, 0, data.length - 1)] = NaN;
  return { shape, axis, data };
}

describe('engine QatAbsMax on WASM', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('is the registered kernel, runs SIMD, and core does not take it back', () => {
    expect(ABS_MAX).toBe(CORE_ABS_MAX);
    expect(simdKernels(tf.backend())?.absMax).toBeTypeOf('function');
    expect(tf.getKernel(ABS_MAX, 'wasm')?.kernelFunc).toBe(absMaxConfig.kernelFunc);
    registerObserverKernels();
    registerProjectKernels();
    expect(tf.getKernel(ABS_MAX, 'wasm')?.kernelFunc).toBe(absMaxConfig.kernelFunc);
    expect(tf.getKernel(ABS_MAX, 'cpu')).toBeDefined(); // core's CPU kernel stays
  });

  it('gives core\'s and TF.js\'s max|x| bit for bit on random shapes, per tensor and per channel', async () => {
    const next = rng(501);
    for (let t = 0; t < 300; t++) {
      const { shape, axis, data } = randomCase(next);
      const before = liveCounts();
      const got = tf.tidy(() => {
        const out = tf.engine().runKernel(ABS_MAX, { x: tf.tensor(data, shape) }, { axis } as never) as tf.Tensor;
        return { shape: out.shape, bits: bits(out.dataSync()) };
      });
      expect(liveCounts()).toEqual(before);
      // Core's JavaScript rule, and the engine's scalar copy of it.
      const channels = axis < 0 ? 1 : shape[axis]!;
      const inner = axis < 0 ? data.length : shape.slice(axis + 1).reduce((a, b) => a * b, 1);
      const core = new Float32Array(channels);
      batchRange(data, { channels, inner }, true, null, core);
      const copy = new Float32Array(channels);
      absMaxReference(data, channels, inner, copy);
      const label = `${shape} axis ${axis}`;
      expect(got.shape, label).toEqual(axis < 0 ? [] : [channels]);
      expect(got.bits, label).toEqual(bits(core));
      expect(bits(copy), label).toEqual(bits(core));
      // TF.js's own ops on the CPU backend.
      await tf.setBackend('cpu');
      const ops = tf.tidy(() => {
        const x = tf.abs(tf.tensor(data, shape));
        return bits((axis < 0 ? tf.max(x) : tf.max(x, shape.map((_, i) => i).filter((i) => i !== axis))).dataSync());
      });
      await tf.setBackend('wasm');
      expect(got.bits, label).toEqual(ops);
    }
  });

  it('weightAbsMax through the engine kernel: same values as the read-back, no leaks', () => {
    const w = tf.randomNormal([64, 3, 3, 8]);
    const before = liveCounts();
    const fast = weightAbsMax(w, 3);
    const slow = tf.tidy(() => tf.max(tf.abs(w), [0, 1, 2]));
    expect(bits(fast.dataSync())).toEqual(bits(slow.dataSync()));
    tf.dispose([fast, slow]);
    expect(liveCounts()).toEqual(before);
    w.dispose();
  });
});
