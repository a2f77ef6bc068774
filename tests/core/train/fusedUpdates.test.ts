// The single-pass optimizer update kernels (registered by src/engine for cpu and wasm) give the same
// bits as the optimizers' op-by-op form, on both backends, over several steps, and leak nothing.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerProjectKernels, selectBackend } from '../../../src/engine/backend.js';
import { ADAM_UPDATE, SGD_UPDATE } from '../../../src/core/train/fusedUpdates.js';
import { createOptimizer, type OptimizerConfig, type ParamRef } from '../../../src/core/train/optimizers.js';
import { ADAM_UPDATE as ENGINE_ADAM, SGD_UPDATE as ENGINE_SGD } from '../../../src/engine/kernels/optimizer-updates.js';

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

const shapes = [[7, 5], [13], [3, 3, 2, 4]];

/** Runs `steps` updates of a fresh optimizer on fixed weights/gradients; returns every weight and slot. */
function run(config: OptimizerConfig, steps: number): Float32Array[] {
  const next = rng(42);
  const rand = (s: number[]) => Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => (next() * 2 - 1) * (next() < 0.1 ? 1e-6 : 1));
  const params: ParamRef[] = shapes.map((s, i) => ({ key: `p${i}`, variable: tf.tidy(() => tf.variable(tf.tensor(rand(s), s), true, `fused_update_test_${i}_${Math.random()}`)) }));
  const grads = Array.from({ length: steps }, () => shapes.map((s) => rand(s)));
  const opt = createOptimizer(config);
  for (let t = 1; t <= steps; t++) {
    tf.tidy(() => opt.update(params, grads[t - 1]!.map((g, i) => (i === 1 && t === 2 ? undefined : tf.tensor(g, shapes[i]))), 0.01 * t, t));
  }
  const slots = opt.exportSlots();
  const out = [...params.map((p) => p.variable.dataSync() as Float32Array), ...Object.keys(slots).sort().map((k) => slots[k]!.data as Float32Array)];
  opt.dispose();
  params.forEach((p) => p.variable.dispose());
  return out.map((a) => Float32Array.from(a));
}

function bits(a: Float32Array[]): number[][] {
  return a.map((x) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length)));
}

/** `fn` with the named kernels unregistered on the active backend (the op-by-op form). */
function withoutKernels<T>(fn: () => T): T {
  const saved = [ADAM_UPDATE, SGD_UPDATE].map((n) => tf.getKernel(n, tf.getBackend())).filter((k) => k !== undefined);
  for (const k of saved) tf.unregisterKernel(k.kernelName, k.backendName);
  try {
    return fn();
  } finally {
    for (const k of saved) tf.registerKernel(k);
  }
}

const configs: OptimizerConfig[] = [
  { kind: 'adam' },
  { kind: 'adam', beta1: 0.8, beta2: 0.99, epsilon: 1e-6 },
  { kind: 'sgd' },
  { kind: 'sgd', momentum: 0.9 },
  { kind: 'sgd', momentum: 0.5, nesterov: true },
];

describe('fused optimizer updates', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
    registerProjectKernels();
  });

  it('use the names src/engine registers', () => {
    expect([ENGINE_ADAM, ENGINE_SGD]).toEqual([ADAM_UPDATE, SGD_UPDATE]);
    for (const backend of ['cpu', 'wasm']) for (const n of [ADAM_UPDATE, SGD_UPDATE]) expect(tf.getKernel(n, backend)).toBeDefined();
  });

  for (const backend of ['cpu', 'wasm']) {
    it(`give the op-by-op bits on ${backend} for Adam and SGD variants`, async () => {
      await tf.setBackend(backend);
      for (const c of configs) {
        const fused = run(c, 4);
        const composite = withoutKernels(() => run(c, 4));
        expect(bits(fused)).toEqual(bits(composite));
      }
    });

    it(`leave no tensors behind on ${backend}`, async () => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      for (const c of configs) run(c, 2);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('give the same bits on cpu and wasm', async () => {
    await tf.setBackend('cpu');
    const cpu = run({ kind: 'adam' }, 3);
    await tf.setBackend('wasm');
    expect(bits(run({ kind: 'adam' }, 3))).toEqual(bits(cpu));
  });
});
