// Registration order, the other way round from fake-quant.test.ts: the engine's WASM fake-quant
// kernels are registered (selectBackend) before core is imported; core's registerFakeQuantKernels()
// skips names already registered, so the engine's stay, and core's CPU kernels are still added.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { selectBackend } from '../../src/engine/backend.js';
import { fakeQuantConfigs } from '../../src/engine/kernels/wasm/fake-quant.js';

it('core imported after selectBackend leaves the engine kernels in place on WASM', async () => {
  await selectBackend('wasm');
  for (const config of fakeQuantConfigs) expect(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc).toBe(config.kernelFunc);
  const core = await import('../../src/core/quant/fakeQuant.js');
  for (const config of fakeQuantConfigs) expect(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc).toBe(config.kernelFunc);
  expect(tf.getKernel(config0Name(), 'cpu')).toBeDefined();
  const y = core.fakeQuant(tf.tensor([0.125, -2, 0.3, 5, 0]), tf.scalar(0), tf.scalar(63.75), { bits: 8 });
  expect(Array.from(y.dataSync())).toEqual([0.25, 0, 0.25, 5, 0]);
});

const config0Name = () => fakeQuantConfigs[0]!.kernelName;
