// The WASM kernels src/engine replaces for speed (BatchMatMul/_FusedMatMul with transposed operands,
// Tile, MaxPoolGrad, Sum/Mean over leading axes) against the plain CPU backend on random shapes.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/engine/backend.js';
import { builtinWasmKernel } from '../../src/engine/kernels/wasm/builtin.js';
import { simdKernels } from '../../src/engine/kernels/wasm/simd.js';
import { liveCounts, onBackend, pick, randomInt, relativeError, rng, values } from './helpers.js';

async function compare(fn: () => tf.Tensor | tf.Tensor[], tolerance = 1e-5): Promise<void> {
  const cpu = await onBackend('cpu', fn);
  const wasm = await onBackend('wasm', fn);
  expect(wasm.length).toBe(cpu.length);
  cpu.forEach((expected, i) => expect(relativeError(wasm[i]!, expected)).toBeLessThanOrEqual(tolerance));
}

/** Runs fn on WASM and checks it left no tensor or buffer behind but its result. */
function leaves(fn: () => tf.Tensor | tf.Tensor[]): void {
  const before = liveCounts();
  const out = fn();
  const list = Array.isArray(out) ? out : [out];
  expect(liveCounts()).toEqual({ tensors: before.tensors + list.length, buffers: before.buffers + list.length });
  tf.dispose(list);
  expect(liveCounts()).toEqual(before);
}

describe('WASM kernels replaced by src/engine', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('BatchMatMul with transposed operands matches the CPU backend (2-D and batched, broadcast batch)', async () => {
    const next = rng(11);
    for (let trial = 0; trial < 12; trial++) {
      const [m, k, n] = [randomInt(next, 1, 40), randomInt(next, 1, 70), randomInt(next, 1, 40)];
      const ta = trial % 4 === 1 || trial % 4 === 3;
      const tb = trial % 4 >= 2;
      const batch = trial < 6 ? [] : [randomInt(next, 1, 3)];
      const bBatch = trial >= 9 ? [1] : batch;
      const aShape = [...batch, ...(ta ? [k, m] : [m, k])];
      const bShape = [...bBatch, ...(tb ? [n, k] : [k, n])];
      const av = values(next, aShape);
      const bv = values(next, bShape);
      await compare(() => tf.matMul(tf.tensor(av, aShape), tf.tensor(bv, bShape), ta, tb));
    }
  });

  it('_FusedMatMul (bias, relu) and the dense gradients with transposes match the CPU backend', async () => {
    const next = rng(12);
    const [m, k, n] = [17, 33, 9];
    const av = values(next, [k, m]);
    const bv = values(next, [n, k]);
    const bias = values(next, [n]);
    await compare(() =>
      tf.fused.matMul({ a: tf.tensor2d(av, [k, m]), b: tf.tensor2d(bv, [n, k]), transposeA: true, transposeB: true, bias: tf.tensor1d(bias), activation: 'relu' }),
    );
    await compare(() => {
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, activation: 'relu' }))));
      return g([tf.tensor2d(values(rng(3), [m, k]), [m, k]), tf.tensor2d(values(rng(4), [k, n]), [k, n])]);
    });
  });

  it('Tile matches the CPU backend for ranks 0–5 and float32/int32/bool', async () => {
    const next = rng(13);
    for (let trial = 0; trial < 14; trial++) {
      const rank = trial % 6;
      const shape = Array.from({ length: rank }, () => randomInt(next, 1, 4));
      const reps = Array.from({ length: rank }, () => randomInt(next, 1, 3));
      const dtype = pick(next, ['float32', 'int32', 'bool'] as const);
      const v = values(next, shape).map((x) => (dtype === 'float32' ? x : Math.round(x * 3)));
      await compare(() => tf.cast(tf.tile(tf.tensor(dtype === 'bool' ? v.map((x) => (x > 0 ? 1 : 0)) : v, shape, dtype), reps), 'float32'), 0);
    }
    await compare(() => tf.tile(tf.tensor4d(values(rng(5), [1, 1, 1, 16]), [1, 1, 1, 16]), [8, 5, 7, 1]), 0);
    await compare(() => tf.tile(tf.tensor2d(values(rng(9), [3, 5]), [3, 5]), [1, 4]), 0);
  });

  it('MaxPoolGrad matches the CPU backend (valid/same, overlapping windows, ties)', async () => {
    const next = rng(14);
    // Channel counts that are multiples of 4 take the SIMD loop, the others the JavaScript one.
    for (let trial = 0; trial < 12; trial++) {
      const depth = [4, 8, 16, 3, 1, 12][trial % 6] as number;
      const shape: [number, number, number, number] = [randomInt(next, 1, 3), randomInt(next, 3, 9), randomInt(next, 3, 9), depth];
      const size = randomInt(next, 1, 3);
      const stride = randomInt(next, 1, 3);
      const pad = pick(next, ['valid', 'same'] as const);
      // Rounded values and a ReLU make ties, which go to the first maximum.
      const xv = values(next, shape).map((x) => Math.max(0, Math.round(x * 4) / 4));
      const up = values(next, shape);
      await compare(() =>
        tf.grad((x: tf.Tensor) => {
          const y = tf.maxPool(x as tf.Tensor4D, size, stride, pad);
          return tf.sum(tf.mul(y, tf.slice(tf.tensor4d(up, shape), [0, 0, 0, 0], y.shape)));
        })(tf.tensor4d(xv, shape)),
      );
    }
  });

  it('Conv2DBackpropFilter for few input channels and 16k output channels (SIMD row dots) matches the CPU backend', async () => {
    const next = rng(16);
    // (TF.js's conv2d gradient refuses dilations above 1, so the kernel never sees them.)
    const cases: Array<{ ci: number; co: number; k: number; s: number; d: number; pad: 'valid' | 'same' }> = [
      { ci: 1, co: 16, k: 3, s: 1, d: 1, pad: 'valid' },
      { ci: 3, co: 32, k: 3, s: 2, d: 1, pad: 'same' },
      { ci: 2, co: 16, k: 2, s: 1, d: 1, pad: 'same' },
      { ci: 4, co: 16, k: 5, s: 2, d: 1, pad: 'valid' },
    ];
    for (const c of cases) {
      const xShape: [number, number, number, number] = [randomInt(next, 1, 3), randomInt(next, 7, 12), randomInt(next, 7, 12), c.ci];
      const xv = values(next, xShape);
      const fv = values(next, [c.k, c.k, c.ci, c.co]);
      const dy = tf.tidy(() => tf.conv2d(tf.zeros(xShape) as tf.Tensor4D, tf.zeros([c.k, c.k, c.ci, c.co]) as tf.Tensor4D, c.s, c.pad, 'NHWC', c.s > 1 ? 1 : c.d));
      const dyShape = dy.shape;
      dy.dispose();
      const dv = values(next, dyShape);
      const dilation = c.s > 1 ? 1 : c.d;
      await compare(() =>
        tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(tf.tensor4d(xv, xShape), f as tf.Tensor4D, c.s, c.pad, 'NHWC', dilation), tf.tensor(dv, dyShape))))(
          tf.tensor4d(fv, [c.k, c.k, c.ci, c.co]),
        ),
      );
    }
  });

  it('Conv2DBackpropInput for few input channels (matmul and scatter) matches the CPU backend', async () => {
    const next = rng(18);
    const cases: Array<{ ci: number; co: number; k: number; s: number; pad: 'valid' | 'same' }> = [
      { ci: 1, co: 16, k: 3, s: 1, pad: 'valid' },
      { ci: 3, co: 8, k: 3, s: 2, pad: 'same' },
      { ci: 2, co: 5, k: 2, s: 1, pad: 'same' },
      { ci: 4, co: 16, k: 5, s: 2, pad: 'valid' },
    ];
    for (const c of cases) {
      const xShape: [number, number, number, number] = [randomInt(next, 1, 3), randomInt(next, 7, 12), randomInt(next, 7, 12), c.ci];
      const xv = values(next, xShape);
      const fv = values(next, [c.k, c.k, c.ci, c.co]);
      const dyShape = tf.tidy(() => tf.conv2d(tf.zeros(xShape) as tf.Tensor4D, tf.zeros([c.k, c.k, c.ci, c.co]) as tf.Tensor4D, c.s, c.pad).shape);
      const dv = values(next, dyShape);
      await compare(() =>
        tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, tf.tensor4d(fv, [c.k, c.k, c.ci, c.co]), c.s, c.pad), tf.tensor(dv, dyShape))))(
          tf.tensor4d(xv, xShape),
        ),
      );
    }
  });

  it('Sum and Mean over leading axes (and other axes) match the CPU backend', async () => {
    const next = rng(15);
    const shape = [6, 5, 4, 3];
    const v = values(next, shape);
    for (const axis of [[0], [0, 1], [1, 0, 2], [0, 1, 2, 3], [1], [2, 3], -1]) {
      for (const keepDims of [false, true]) {
        await compare(() => tf.sum(tf.tensor(v, shape), axis, keepDims));
        await compare(() => tf.mean(tf.tensor(v, shape), axis, keepDims));
      }
    }
    // A feature-map-sized batch-norm statistic: float32 accumulation stays within 1e-5.
    const big = values(next, [64, 20, 20, 16]);
    await compare(() => tf.moments(tf.tensor4d(big, [64, 20, 20, 16]), [0, 1, 2]).variance);
    await compare(() => tf.sum(tf.tensor4d(big, [64, 20, 20, 16]), [0, 1, 2]));
    await compare(() => tf.sum(tf.tensor(Int32Array.from([1, 2, 3, 4, 5, 6]), [3, 2], 'int32'), 0));
  });

  it('FusedBatchNorm matches the CPU backend (per-channel and single-value parameters, optional ones missing)', async () => {
    const next = rng(17);
    const shape = [4, 5, 6, 8];
    const xv = values(next, shape);
    const mv = values(next, [8]);
    const vv = values(next, [8]).map((v) => v * v + 0.1);
    const ov = values(next, [8]);
    const sv = values(next, [8]);
    await compare(() => tf.batchNorm(tf.tensor(xv, shape), tf.tensor1d(mv), tf.tensor1d(vv), tf.tensor1d(ov), tf.tensor1d(sv), 1e-3));
    await compare(() => tf.batchNorm(tf.tensor(xv, shape), tf.tensor1d(mv), tf.tensor1d(vv), undefined, undefined, 1e-5));
    await compare(() => tf.batchNorm(tf.tensor(xv, shape), tf.scalar(0.3), tf.scalar(2), tf.scalar(0.7), tf.scalar(-1.5), 1e-3));
    // 6 channels: the JavaScript loop rather than the SIMD one.
    const x6 = values(next, [3, 4, 5, 6]);
    const c6 = values(next, [6]).map((v) => v * v + 0.1);
    await compare(() => tf.batchNorm(tf.tensor(x6, [3, 4, 5, 6]), tf.tensor1d(c6), tf.tensor1d(c6), tf.tensor1d(c6), tf.tensor1d(c6), 1e-3));
  });

  it('Add/Sub/Multiply/RealDiv with a per-channel vector give WASM\'s own bits and match the CPU backend', async () => {
    const next = rng(19);
    const shape = [3, 5, 7, 12];
    const xv = values(next, shape);
    const vv = values(next, [12]).map((v) => v + Math.sign(v) * 0.5);
    const ops = [
      [tf.add, 'Add'],
      [tf.sub, 'Sub'],
      [tf.mul, 'Multiply'],
      [tf.div, 'RealDiv'],
    ] as const;
    for (const [op, name] of ops) {
      for (const vShape of [[12], [1, 1, 1, 12], [1, 12]]) {
        for (const vectorFirst of [false, true]) {
          const fn = () => {
            const x = tf.tensor(xv, shape);
            const v = tf.tensor(vv, vShape);
            return vectorFirst ? op(v, x) : op(x, v);
          };
          await compare(fn, 1e-6);
          // Bit for bit what WASM's own broadcasting kernel gives.
          const [ours] = await onBackend('wasm', fn);
          const replaced = tf.getKernel(name, 'wasm');
          if (replaced === undefined) throw new Error(`no ${name} kernel`);
          const builtin = builtinWasmKernel(name);
          tf.unregisterKernel(name, 'wasm');
          tf.registerKernel(builtin);
          try {
            const [theirs] = await onBackend('wasm', fn);
            expect(Array.from(new Uint32Array(ours!.buffer))).toEqual(Array.from(new Uint32Array(theirs!.buffer)));
          } finally {
            tf.unregisterKernel(name, 'wasm');
            tf.registerKernel(replaced);
          }
        }
      }
    }
    // Shapes it leaves to WASM: 6 channels, a vector on another axis, two full tensors.
    const [m46, v6, m48, v41] = [values(next, [4, 6]), values(next, [6]), values(next, [4, 8]), values(next, [4, 1])];
    await compare(() => tf.mul(tf.tensor(m46, [4, 6]), tf.tensor1d(v6)));
    await compare(() => tf.sub(tf.tensor(m48, [4, 8]), tf.tensor(v41, [4, 1])));
    await compare(() => tf.div(tf.tensor(xv, shape), tf.tensor(xv.map((v) => v + 3), shape)));
  });

  it('leave nothing behind but their outputs (and the SIMD loops compile here)', async () => {
    await tf.setBackend('wasm');
    expect(simdKernels(tf.backend())).not.toBeNull();
    const a = tf.tensor2d(values(rng(6), [8, 5]), [8, 5]);
    const b = tf.tensor2d(values(rng(7), [6, 5]), [6, 5]);
    const x = tf.tensor4d(values(rng(8), [2, 6, 6, 3]), [2, 6, 6, 3]);
    leaves(() => tf.matMul(a, b, false, true));
    leaves(() => tf.matMul(a, a, true, false));
    const bias = tf.zeros([6]);
    leaves(() => tf.fused.matMul({ a, b, transposeB: true, bias, activation: 'relu' }));
    leaves(() => tf.tile(x, [1, 2, 1, 3]));
    const v4 = tf.ones([4]);
    const x4 = tf.ones([2, 3, 4]);
    leaves(() => tf.mul(x4, v4));
    leaves(() => tf.sub(v4, x4));
    tf.dispose([v4, x4]);
    const c3 = tf.ones([3]);
    leaves(() => tf.batchNorm(x, c3, c3, c3, c3, 1e-3));
    c3.dispose();
    // Identity and a same-type Cast share the input's buffer: one more tensor, no more memory.
    for (const share of [() => tf.clone(x), () => tf.cast(x, 'float32')]) {
      const before = liveCounts();
      const y2 = share();
      expect(liveCounts()).toEqual({ tensors: before.tensors + 1, buffers: before.buffers });
      y2.dispose();
      expect(liveCounts()).toEqual(before);
      expect(x.dataSync()[0]).toBe(values(rng(8), [1])[0]);
    }
    leaves(() => tf.sum(x, [0, 1, 2]));
    leaves(() => tf.mean(x, [0, 1], true));
    const y = tf.maxPool(x, 2, 2, 'valid');
    leaves(() => tf.engine().runKernel('MaxPoolGrad', { dy: y, input: x, output: y }, { filterSize: 2, strides: 2, pad: 'valid' }) as tf.Tensor);
    tf.dispose([a, b, bias, x, y]);
  });
});
