// The engine's WASM fake-quant kernels (src/engine/kernels/wasm/fake-quant.ts, SIMD loops in simd.ts)
// against core's JavaScript reference (src/core/quant/fakeQuantMath.ts): forward and input gradient
// bit for bit, range gradients to rounding; the golden fixtures; NaN/Inf refusals; registration.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fakeQuant } from '../../src/core/quant/fakeQuant.js';
import * as coreKernels from '../../src/core/quant/fakeQuantKernels.js';
import { fakeQuantForward, fakeQuantInputGrad, fakeQuantRangeGrad, nudgeAll as coreNudgeAll } from '../../src/core/quant/fakeQuantMath.js';
import { nudgeRange as coreNudgeRange } from '../../src/core/quant/params.js';
import { registerProjectKernels, selectBackend } from '../../src/engine/backend.js';
import { fakeQuantConfigs } from '../../src/engine/kernels/wasm/fake-quant.js';
import * as engineMath from '../../src/engine/kernels/wasm/fake-quant-math.js';
import { simdKernels } from '../../src/engine/kernels/wasm/simd.js';
import { liveCounts, pick, randomInt, rng } from './helpers.js';

interface Golden {
  name: string;
  bits: number;
  narrow_range: boolean;
  min: number | number[];
  max: number | number[];
  axis?: number;
  shape?: number[];
  x: number[];
  y: number[];
  dy: number[];
  dx: number[];
  dmin: number | number[];
  dmax: number | number[];
}

const golden = JSON.parse(readFileSync(new URL('../fixtures/golden/fake_quant.json', import.meta.url), 'utf8')) as {
  per_tensor: Golden[];
  per_channel: Golden[];
};

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  const bad: string[] = [];
  for (let i = 0; i < a.length && bad.length < 5; i++) if (!Object.is(a[i], b[i])) bad.push(`[${i}] ${a[i]} vs ${b[i]}`);
  expect(bad).toEqual([]);
};

/** A random float32 range: ordinary, one-sided, degenerate, tiny or extreme. */
function randomRange(next: () => number): [number, number] {
  const f = Math.fround;
  const kind = randomInt(next, 0, 9);
  const mag = 10 ** (next() * 8 - 4);
  switch (kind) {
    case 0:
      return [f(next() * mag), f(next() * mag + mag)]; // above zero
    case 1:
      return [f(-next() * mag - mag), f(-next() * mag)]; // below zero
    case 2: {
      const v = f((next() * 2 - 1) * mag);
      return [v, v]; // degenerate
    }
    case 3:
      return [0, 0];
    case 4:
      return [f(-3e38 * next()), f(3e38 * next())];
    case 5:
      return [f(-1e-30 * next()), f(1e-30 * next())];
    default: {
      const a = f((next() * 2 - 1) * mag);
      const b = f((next() * 2 - 1) * mag);
      return a <= b ? [a, b] : [b, a];
    }
  }
}

/** x values hitting the interesting points of each channel's grid: ties, bounds, outside, zero. */
function randomX(next: () => number, n: number, ranges: engineMath.NudgedRange[], channel: (i: number) => number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = ranges[channel(i)]!;
    const span = Math.max(r.nudgedMax - r.nudgedMin, 1e-6);
    const kind = randomInt(next, 0, 5);
    if (kind === 0) x[i] = r.nudgedMin + (randomInt(next, -4, 2 * (r.qmax - r.qmin) + 4) * r.scale) / 2; // ties
    else if (kind === 1) x[i] = pick(next, [r.nudgedMin, r.nudgedMax, 0, -0]);
    else x[i] = r.nudgedMin + (next() * 1.4 - 0.2) * span;
    if (!Number.isFinite(x[i]!)) x[i] = r.nudgedMax; // extreme ranges overflow float32 past their ends
  }
  return x;
}

const attrsOf = (bits: number, narrowRange: boolean, axis: number, label = 'test') => ({ bits, narrowRange, axis, label });

function runWasm(name: string, inputs: Record<string, Float32Array | [Float32Array, number[]]>, attrs: object): Float32Array[] {
  return tf.tidy(() => {
    const ts: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) ts[k] = Array.isArray(v) ? tf.tensor(v[0], v[1]) : tf.tensor(v);
    const out = tf.engine().runKernel(name, ts, attrs as never) as tf.Tensor | tf.Tensor[];
    return (Array.isArray(out) ? out : [out]).map((t) => Float32Array.from(t.dataSync() as Float32Array));
  });
}

describe('engine fake-quant copies of core', () => {
  it('nudgeRange equals core on many random ranges (and throws the same errors)', () => {
    const next = rng(101);
    for (let t = 0; t < 20000; t++) {
      const [min, max] = randomRange(next);
      const bits = randomInt(next, 2, 16);
      const narrow = next() < 0.5;
      expect(engineMath.nudgeRange(min, max, bits, narrow)).toEqual(coreNudgeRange(min, max, bits, narrow));
    }
    for (const [min, max, bits] of [[Number.NaN, 1, 8], [0, Infinity, 8], [2, 1, 8], [0, 1, 1], [0, 1, 17], [0, 1, 2.5]] as const) {
      expect(() => engineMath.nudgeRange(min, max, bits)).toThrow();
      let message = '';
      try {
        coreNudgeRange(min, max, bits);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(() => engineMath.nudgeRange(min, max, bits)).toThrow(message);
    }
    expect(() => engineMath.nudgeAll([0, 2], [1, 1], attrsOf(8, false, 0), 'L')).toThrow('L: channel 1: quantization range is inverted: min 2 > max 1');
    expect(() => coreNudgeAll([0, 2], [1, 1], attrsOf(8, false, 0), 'L')).toThrow('L: channel 1: quantization range is inverted: min 2 > max 1');
  });

  it('kernel names and channel layouts equal core', () => {
    expect([engineMath.FAKE_QUANT, engineMath.FAKE_QUANT_GRAD, engineMath.FAKE_QUANT_RANGE_GRAD]).toEqual([
      coreKernels.FAKE_QUANT,
      coreKernels.FAKE_QUANT_GRAD,
      coreKernels.FAKE_QUANT_RANGE_GRAD,
    ]);
    for (const [shape, size, axis] of [[[2, 3, 4], 1, -1], [[2, 3, 4], 4, 2], [[2, 3, 4], 3, 1], [[5], 5, 0], [[0, 3], 3, 1]] as const) {
      expect(engineMath.channelLayout([...shape], size, axis)).toEqual(coreKernels.channelLayout([...shape], size, axis));
    }
  });
});

describe('engine fake-quant kernels on WASM', () => {
  beforeAll(async () => {
    // Core registered its JavaScript kernels when fakeQuant.ts was imported above: the engine must win.
    await selectBackend('wasm');
  });

  it('are the registered kernels, run SIMD, and core does not take them back', () => {
    expect(simdKernels(tf.backend())).not.toBeNull();
    for (const config of fakeQuantConfigs) expect(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc).toBe(config.kernelFunc);
    coreKernels.registerFakeQuantKernels();
    registerProjectKernels();
    for (const config of fakeQuantConfigs) expect(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc).toBe(config.kernelFunc);
    expect(tf.getKernel(coreKernels.FAKE_QUANT, 'cpu')).toBeDefined(); // core's CPU kernels stay
  });

  it.each([...golden.per_tensor, ...golden.per_channel].map((g) => [g.name, g] as const))('golden: %s', (_name, g) => {
    const before = liveCounts();
    const x = tf.tensor(g.x, g.shape ?? [g.x.length]);
    const min = tf.tensor(g.min);
    const max = tf.tensor(g.max);
    const dy = tf.tensor(g.dy, x.shape);
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => fakeQuant(a, b, c, { bits: g.bits, narrowRange: g.narrow_range, axis: g.axis });
    const y = f(x, min, max);
    const grads = tf.grads(f)([x, min, max], dy);
    same(y.dataSync(), new Float32Array(g.y));
    same(grads[0]!.dataSync(), new Float32Array(g.dx));
    const list = (v: number | number[]) => (Array.isArray(v) ? v : [v]);
    list(g.dmin).forEach((v, i) => expect(grads[1]!.dataSync()[i]).toBeCloseTo(v, 5));
    list(g.dmax).forEach((v, i) => expect(grads[2]!.dataSync()[i]).toBeCloseTo(v, 5));
    tf.dispose([x, min, max, dy, y, ...grads]);
    expect(liveCounts()).toEqual(before);
  });

  it('random per-tensor and per-channel tensors equal core bit for bit (odd sizes, long periods)', () => {
    const next = rng(202);
    const shapes: Array<[number[], number]> = [
      [[3, 2000], 0], // channels·inner > the table period: one SIMD call per block
      [[7, 1031], 0],
      [[2, 3, 5, 7], 3],
      [[4, 5, 6], 1],
      [[1], 0],
      [[3], -1],
    ];
    for (let t = 0; t < 60; t++) {
      let shape: number[];
      let axis: number;
      if (t < shapes.length) [shape, axis] = shapes[t]!;
      else {
        const rank = randomInt(next, 1, 4);
        shape = Array.from({ length: rank }, () => randomInt(next, 1, 9));
        axis = next() < 0.3 ? -1 : randomInt(next, 0, rank - 1);
      }
      const n = shape.reduce((a, b) => a * b, 1);
      const channels = axis < 0 ? 1 : shape[axis]!;
      const bits = pick(next, [2, 4, 8, 8, 8, 16]);
      const narrow = next() < 0.3;
      const minV = new Float32Array(channels);
      const maxV = new Float32Array(channels);
      for (let c = 0; c < channels; c++) [minV[c], maxV[c]] = randomRange(next);
      const attrs = attrsOf(bits, narrow, axis);
      const ranges = coreNudgeAll(minV, maxV, attrs, 'test');
      const layout = coreKernels.channelLayout(shape, channels, axis);
      const x = randomX(next, n, ranges, (i) => Math.floor(i / layout.inner) % layout.channels);
      const dy = Float32Array.from({ length: n }, () => next() * 2 - 1);
      const rangeIn = (v: Float32Array): [Float32Array, number[]] => [v, axis < 0 ? [] : [channels]];
      const inputs = { x: [x, shape] as [Float32Array, number[]], min: rangeIn(minV), max: rangeIn(maxV) };

      const y = new Float32Array(n);
      fakeQuantForward(x, ranges, layout, y);
      same(runWasm(coreKernels.FAKE_QUANT, inputs, attrs)[0]!, y);

      const dx = new Float32Array(n);
      fakeQuantInputGrad(dy, x, ranges, layout, dx);
      const withDy = { ...inputs, dy: [dy, shape] as [Float32Array, number[]] };
      same(runWasm(coreKernels.FAKE_QUANT_GRAD, withDy, attrs)[0]!, dx);

      const [dmin, dmax] = [new Float32Array(channels), new Float32Array(channels)];
      fakeQuantRangeGrad(dy, x, ranges, layout, dmin, dmax);
      const [wmin, wmax] = runWasm(coreKernels.FAKE_QUANT_RANGE_GRAD, withDy, attrs) as [Float32Array, Float32Array];
      for (let c = 0; c < channels; c++) {
        expect(Math.abs(wmin[c]! - dmin[c]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(dmin[c]!)));
        expect(Math.abs(wmax[c]! - dmax[c]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(dmax[c]!)));
      }
    }
  });

  it('equals core on a large random activation (per-tensor) and conv weight (last axis)', () => {
    const next = rng(303);
    const cases: Array<[number[], number]> = [[[64, 13, 13, 16], -1], [[3, 3, 16, 32], 3], [[5, 5, 1, 6], 3]];
    for (const [shape, axis] of cases) {
      const n = shape.reduce((a, b) => a * b, 1);
      const channels = axis < 0 ? 1 : shape[axis]!;
      const minV = Float32Array.from({ length: channels }, () => -next() * 2);
      const maxV = Float32Array.from({ length: channels }, () => next() * 3);
      const attrs = attrsOf(8, axis >= 0, axis);
      const ranges = coreNudgeAll(minV, maxV, attrs, 'test');
      const layout = coreKernels.channelLayout([...shape], channels, axis);
      const x = randomX(next, n, ranges, (i) => Math.floor(i / layout.inner) % layout.channels);
      const y = new Float32Array(n);
      fakeQuantForward(x, ranges, layout, y);
      const r = (v: Float32Array): [Float32Array, number[]] => [v, axis < 0 ? [] : [channels]];
      same(runWasm(coreKernels.FAKE_QUANT, { x: [x, [...shape]], min: r(minV), max: r(maxV) }, attrs)[0]!, y);
    }
  });

  it.each([
    ['NaN in the SIMD body', 37, 5, Number.NaN],
    ['+Inf in the tail', 39, 38, Infinity],
    ['-Inf at 0', 8, 0, -Infinity],
    ['NaN in a per-channel block', 2 * 1031, 1500, Number.NaN],
  ] as const)('refuses %s with core\'s message, leaking nothing', (_name, n, at, bad) => {
    const xv = new Float32Array(n).map((_, i) => (i % 7) / 7 - 0.5);
    xv[at] = bad;
    if (at + 3 < n) xv[at + 3] = Number.NaN; // a later one: the first is reported
    const perChannel = n === 2 * 1031;
    const x = perChannel ? tf.tensor(xv, [2, 1031]) : tf.tensor(xv);
    const min = perChannel ? tf.tensor1d([-1, -2]) : tf.scalar(-1);
    const max = perChannel ? tf.tensor1d([1, 2]) : tf.scalar(1);
    const before = liveCounts();
    const bytes = tf.memory().numBytes;
    const expected = `dense_1/kernel: input has ${bad} at flat index ${at}; fake-quant refuses NaN/Inf inputs`;
    expect(() => fakeQuant(x, min, max, { bits: 8, label: 'dense_1/kernel', axis: perChannel ? 0 : undefined })).toThrow(expected);
    expect(() =>
      tf.engine().runKernel(coreKernels.FAKE_QUANT, { x, min, max }, attrsOf(8, false, perChannel ? 0 : -1, 'dense_1/kernel') as never),
    ).toThrow(expected);
    expect(liveCounts()).toEqual(before);
    expect(tf.memory().numBytes).toBe(bytes);
    tf.dispose([x, min, max]);
  });

  it('refuses bad ranges before allocating, and handles empty tensors', () => {
    const before = liveCounts();
    const [x, lo, hi] = [tf.tensor([0.5]), tf.scalar(2), tf.scalar(1)];
    expect(() => tf.engine().runKernel(coreKernels.FAKE_QUANT, { x, min: lo, max: hi }, attrsOf(8, false, -1, 'L') as never)).toThrow(
      'L: channel 0: quantization range is inverted: min 2 > max 1',
    );
    tf.dispose([x, lo, hi]);
    expect(liveCounts()).toEqual(before);
    const e = tf.zeros([0, 3]);
    const y = fakeQuant(e, tf.scalar(-1), tf.scalar(1), { bits: 8 });
    expect(y.shape).toEqual([0, 3]);
    tf.dispose([e, y]);
  });
});
