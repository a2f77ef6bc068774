// selectBackend: which TF.js backend it picks here and what it says about it.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerProjectKernels, selectBackend } from '../../src/engine/backend.js';
import { projectKernels } from '../../src/engine/kernels/register.js';

const PROJECT_KERNELS = [
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'UnsortedSegmentSum',
  // Replaced for speed (tests/engine/wasm-replaced-kernels.test.ts).
  'BatchMatMul',
  '_FusedMatMul',
  'Tile',
  'MaxPoolGrad',
  'Sum',
  'Mean',
  'Identity',
  'Cast',
  'FusedBatchNorm',
  'Add',
  'Sub',
  'Multiply',
  'RealDiv',
  // Single-pass optimizer updates, for wasm and cpu (tests/core/train/fusedUpdates.test.ts).
  'QatAdamUpdate',
  'QatSgdUpdate',
  'QatAdamUpdate',
  'QatSgdUpdate',
  // Fake-quant on WASM as SIMD, over core's JavaScript kernels (tests/engine/fake-quant.test.ts).
  'QatFakeQuant',
  'QatFakeQuantGrad',
  'QatFakeQuantRangeGrad',
  // Weight ranges (max|w|) on WASM as SIMD, over core's JavaScript kernel (tests/engine/abs-max.test.ts).
  'QatAbsMax',
  // Training batch norm, forward and gradient, fused on WASM (tests/engine/bn-training.test.ts).
  'QatBatchNormTrain',
  'QatBatchNormTrainGrad',
];

function processHandlers(): number {
  return process.listeners('uncaughtException').length + process.listeners('unhandledRejection').length;
}

describe('selectBackend', () => {
  // Captured before anything in this file starts a backend: vitest gives each test file a fresh
  // module graph, so the WASM module is not running yet.
  const wasmWasRunning = 'wasm' in tf.engine().registry;
  const handlersBefore = processHandlers();
  const fetch = vi.fn(() => Promise.reject(new Error('no network in this test')));
  let previous: string | undefined;

  beforeAll(() => {
    vi.stubGlobal('fetch', fetch);
  });

  afterAll(async () => {
    vi.unstubAllGlobals();
    if (previous !== undefined) await tf.setBackend(previous);
  });

  it("'auto' picks WASM here and says why tfjs-node was passed over", async () => {
    expect(wasmWasRunning).toBe(false);
    const selection = await selectBackend('auto');
    previous = 'wasm';
    expect(selection.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(selection.reason).toMatch(/@tensorflow\/tfjs-node is not usable \(.*tfjs-node/);
    expect(selection.reason).toMatch(/SIMD/);
    expect(selection.reason).toMatch(/multithreading off under Node/);
    expect(selection.threads).toBe(1);
  });

  it('loaded the .wasm binary from the installed package, without fetching anything', async () => {
    const selection = await selectBackend('auto');
    expect(selection.reason).toMatch(/binaries from file:\/\/.*\/node_modules\/@tensorflow\/tfjs-backend-wasm\/dist\//);
    expect(fetch).not.toHaveBeenCalled();
  });

  it("leaves the process's uncaught-error handling as it was (Emscripten adds rethrowing handlers)", () => {
    expect(processHandlers()).toBe(handlersBefore);
  });

  it('registers the project kernels for WASM, replacing its own Conv2DBackpropInput', () => {
    for (const config of projectKernels) {
      expect(tf.getKernel(config.kernelName, config.backendName)?.kernelFunc).toBe(config.kernelFunc);
    }
    expect(projectKernels.map((k) => k.kernelName).sort()).toEqual([...PROJECT_KERNELS].sort());
  });

  it('is idempotent: calling again changes nothing and warns about nothing', async () => {
    const warn = vi.spyOn(console, 'warn');
    try {
      const first = await selectBackend('auto');
      registerProjectKernels();
      const second = await selectBackend('auto');
      expect(second).toEqual(first);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });

  it("an explicit 'tensorflow' that cannot load throws, naming the backend and the cause", async () => {
    await expect(selectBackend('tensorflow')).rejects.toThrow(
      /^Backend 'tensorflow' is unavailable: @tensorflow\/tfjs-node is not usable \(.+\)$/,
    );
    expect(tf.getBackend()).toBe('wasm');
  });

  it("an explicit 'cpu' or 'wasm' is honoured", async () => {
    const cpu = await selectBackend('cpu');
    expect(cpu).toMatchObject({ backend: 'cpu', threads: 1 });
    expect(cpu.reason).toMatch(/^requested; /);
    expect(tf.getBackend()).toBe('cpu');
    const wasm = await selectBackend('wasm');
    expect(wasm.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });
});
