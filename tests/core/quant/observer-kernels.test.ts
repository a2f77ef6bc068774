// The single-pass observer kernels (QatObserve, QatAbsMax) against the op chains they replace: the
// same float32 bits (NaN where the chain gives NaN, the same 0 / -0), per tensor and per channel, on
// every backend; no leaked tensors; and a weight range that stays a constant for the tape.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../../src/core/tf.js';
import { createObserver, type ObserverKind } from '../../../src/core/quant/observers/index.js';
import { ABS_MAX, OBSERVE, registerObserverKernels } from '../../../src/core/quant/observerKernels.js';
import { FAKE_QUANT_RANGE_GRAD } from '../../../src/core/quant/fakeQuantKernels.js';
import { quantizeWeights, weightAbsMax } from '../../../src/core/qat/layers/weights.js';
import { BACKENDS, useBackend } from '../../support/backends.js';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Float32 bits, NaN as one canonical pattern (payloads are not part of the contract). */
function bits(values: ArrayLike<number>): number[] {
  const f = Float32Array.from(values);
  const u = new Uint32Array(f.buffer);
  return Array.from(u, (b, i) => (Number.isNaN(f[i]!) ? -1 : b));
}

/** Runs fn on the op chains: the kernels are unregistered for the active backend, then restored. */
function withoutKernels<T>(fn: () => T): T {
  const backend = tf.getBackend();
  tf.unregisterKernel(OBSERVE, backend);
  tf.unregisterKernel(ABS_MAX, backend);
  try {
    return fn();
  } finally {
    registerObserverKernels();
  }
}

async function withoutKernelsAsync<T>(fn: () => Promise<T>): Promise<T> {
  const backend = tf.getBackend();
  tf.unregisterKernel(OBSERVE, backend);
  tf.unregisterKernel(ABS_MAX, backend);
  try {
    return await fn();
  } finally {
    registerObserverKernels();
  }
}

function randomData(next: () => number, shape: number[], special: boolean): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) {
    const r = next();
    out[i] = special && r < 0.05 ? [0, -0, 5, -5][Math.floor(r * 80)]! : (next() * 2 - 1) * 4;
  }
  return out;
}

interface Case {
  kind: ObserverKind;
  shape: number[];
  channels?: number;
  axis?: number;
  symmetric: boolean;
  decay?: number;
}

function randomCase(next: () => number): Case {
  const rank = 1 + Math.floor(next() * 4);
  const shape = Array.from({ length: rank }, () => 1 + Math.floor(next() * 6));
  const kind: ObserverKind = next() < 0.5 ? 'minmax' : 'ema';
  const c: Case = { kind, shape, symmetric: next() < 0.3 };
  if (kind === 'ema') c.decay = [0, 0.5, 0.9, 0.999, Math.fround(0.37)][Math.floor(next() * 5)]!;
  if (next() < 0.5) {
    const axis = Math.floor(next() * rank) - (next() < 0.5 ? rank : 0);
    c.axis = axis;
    c.channels = shape[axis < 0 ? rank + axis : axis]!;
  }
  return c;
}

/** The observer's state after each batch, as bits. */
function runObserver(c: Case, batches: Float32Array[]): number[][] {
  const obs = createObserver(c.kind, {
    name: 'obs',
    symmetric: c.symmetric,
    ...(c.channels === undefined ? {} : { channels: c.channels, axis: c.axis }),
    ...(c.decay === undefined ? {} : { decay: c.decay }),
  });
  const states: number[][] = [];
  for (const b of batches) {
    const x = tf.tensor(b, c.shape);
    obs.update(x);
    x.dispose();
    states.push([...bits(obs.state.min.dataSync()), ...bits(obs.state.max.dataSync()), ...bits(obs.state.initialized.dataSync())]);
  }
  obs.dispose();
  return states;
}

for (const backend of BACKENDS) {
  describe(`observer kernels on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    it('are registered for the backend', () => {
      expect(tf.getKernel(OBSERVE, backend)).toBeDefined();
      expect(tf.getKernel(ABS_MAX, backend)).toBeDefined();
    });

    it('QatObserve gives the op chain\'s state bit for bit (random shapes, per channel, EMA, symmetric)', () => {
      const next = rng(backend === 'cpu' ? 11 : 12);
      for (let t = 0; t < 60; t++) {
        const c = randomCase(next);
        const batches = Array.from({ length: 4 }, (_, i) => randomData(next, c.shape, i % 2 === 1));
        const fast = runObserver(c, batches);
        const slow = withoutKernels(() => runObserver(c, batches));
        expect(fast, JSON.stringify(c)).toEqual(slow);
      }
    });

    it('QatObserve: NaN, -0 and ties as the op chain', () => {
      const cases: Array<[Case, number[][]]> = [
        [{ kind: 'minmax', shape: [4], symmetric: false }, [[1, NaN, -2, 3], [0, -0, 0, -0], [-0, 0, -0, 0]]],
        [{ kind: 'ema', shape: [4], symmetric: false, decay: 0.9 }, [[0, -0, 1, 1], [1, NaN, 2, 2], [1, 2, 3, 4]]],
        [{ kind: 'ema', shape: [2, 2], symmetric: true, channels: 2, axis: -1, decay: 0.5 }, [[-0, 0, NaN, 1], [-0, -0, 3, 4]]],
        [{ kind: 'minmax', shape: [3, 2], symmetric: false, channels: 3, axis: 0 }, [[NaN, 1, -0, 0, 2, NaN]]],
        // ±Inf without NaN (the fast loops' NaN test then sees a NaN sum and rechecks).
        [{ kind: 'minmax', shape: [2, 3], symmetric: false, channels: 3, axis: 1 }, [[Infinity, -0, 1, -Infinity, 0, -1]]],
        [{ kind: 'minmax', shape: [4], symmetric: true }, [[-Infinity, Infinity, 0, -0]]],
        [{ kind: 'ema', shape: [4], symmetric: false, decay: 0.9 }, [[-0, Infinity, -Infinity, 0], [1, 2, 3, 4]]],
      ];
      for (const [c, raw] of cases) {
        const batches = raw.map((b) => Float32Array.from(b));
        expect(runObserver(c, batches), JSON.stringify(c)).toEqual(withoutKernels(() => runObserver(c, batches)));
      }
      // A NaN state (restored, say) continues as NaN in both.
      const c: Case = { kind: 'ema', shape: [2], symmetric: false, decay: 0.9 };
      const run = () => {
        const obs = createObserver('ema', { name: 'nan', decay: 0.9 });
        obs.state.min.assign(tf.scalar(NaN));
        obs.state.initialized.assign(tf.scalar(NaN));
        const x = tf.tensor([1, 2]);
        obs.update(x);
        x.dispose();
        const out = [...bits(obs.state.min.dataSync()), ...bits(obs.state.max.dataSync())];
        obs.dispose();
        return out;
      };
      expect(run(), JSON.stringify(c)).toEqual(withoutKernels(run));
    });

    it('QatObserve: one kernel per update, no leaked tensors', async () => {
      const obs = createObserver('ema', { name: 'act', channels: 3 });
      const x = tf.tensor(randomData(rng(3), [5, 3], false), [5, 3]);
      obs.update(x);
      const before = tf.memory().numTensors;
      const info = await tf.profile(() => obs.update(x));
      expect(info.kernels.map((k) => k.name)).toEqual([OBSERVE]);
      expect(tf.memory().numTensors).toBe(before);
      obs.dispose();
      x.dispose();
      expect(tf.memory().numTensors).toBe(before - 1 - 3);
    });

    it('QatAbsMax gives the op chain\'s max|w| bit for bit, per tensor and per channel', () => {
      const next = rng(backend === 'cpu' ? 21 : 22);
      for (let t = 0; t < 60; t++) {
        const rank = 1 + Math.floor(next() * 4);
        const shape = Array.from({ length: rank }, () => 1 + Math.floor(next() * 7));
        const axis = next() < 0.3 ? null : Math.floor(next() * rank);
        const data = randomData(next, shape, t % 2 === 0);
        if (t % 7 === 0) data[Math.floor(next() * data.length)] = NaN;
        const w = tf.tensor(data, shape);
        const read = () => {
          const r = weightAbsMax(w, axis);
          const out = { shape: r.shape, bits: bits(r.dataSync()) };
          r.dispose();
          return out;
        };
        const before = tf.memory().numTensors;
        expect(read(), `${shape} axis ${axis}`).toEqual(withoutKernels(read));
        expect(tf.memory().numTensors).toBe(before);
        w.dispose();
      }
    });

    it('QatAbsMax: the range is a constant for the tape; weight gradients and backward kernels as before', async () => {
      const next = rng(31);
      for (const [shape, axis] of [[[3, 3, 4, 5], 3], [[6, 4], null], [[6, 4], 1]] as Array<[number[], number | null]>) {
        const w = tf.tensor(randomData(next, shape, false), shape);
        const dy = tf.tensor(randomData(next, shape, false), shape);
        const grad = () => {
          const f = (v: tf.Tensor) => quantizeWeights(v, axis, 4, 'w');
          const [g] = tf.grads(f)([w], dy);
          const out = bits(g!.dataSync());
          g!.dispose();
          return out;
        };
        expect(grad()).toEqual(withoutKernels(grad));
        const kernels = async () => (await tf.profile(grad)).kernels.map((k) => k.name);
        const fast = await kernels();
        const slow = await withoutKernelsAsync(kernels);
        expect(fast).not.toContain(FAKE_QUANT_RANGE_GRAD);
        expect(slow).not.toContain(FAKE_QUANT_RANGE_GRAD);
        // Backward: the same kernels once the forward fake-quant ran.
        const backward = (names: string[]) => names.slice(names.indexOf('QatFakeQuant') + 1);
        expect(backward(fast)).toEqual(backward(slow));
        expect(fast).toContain(ABS_MAX);
        const before = tf.memory().numTensors;
        grad();
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([w, dy]);
      }
    });
  });
}
