// WASM's own kernels must be in the registry before ours, or importing the package later would put
// its Conv2DBackpropInput back over ours.
import '@tensorflow/tfjs-backend-wasm';
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { optimizerUpdateConfigs } from './optimizer-updates.js';
import { batchMatMulConfig, fusedMatMulConfig } from './wasm/batch-matmul.js';
import { fusedBatchNormConfig } from './wasm/batch-norm.js';
import { bnTrainingConfigs } from './wasm/bn-training.js';
import { channelBinaryConfigs } from './wasm/channel-binary.js';
import { conv2DBackpropFilterConfig } from './wasm/conv2d-backprop-filter.js';
import { conv2DBackpropInputConfig } from './wasm/conv2d-backprop-input.js';
import { depthwiseBackpropFilterConfig } from './wasm/depthwise-backprop-filter.js';
import { depthwiseBackpropInputConfig } from './wasm/depthwise-backprop-input.js';
import { absMaxConfig } from './wasm/abs-max.js';
import { fakeQuantConfigs } from './wasm/fake-quant.js';
import { maxPoolGradConfig } from './wasm/max-pool-grad.js';
import { meanConfig, sumConfig } from './wasm/reduce-leading.js';
import { castConfig, identityConfig } from './wasm/share.js';
import { tileConfig } from './wasm/tile.js';
import { unsortedSegmentSumConfig } from './wasm/unsorted-segment-sum.js';

/** The kernels this project adds to (or replaces in) the WASM backend, and the fused optimizer
 *  updates (WASM and CPU). */
export const projectKernels: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
  unsortedSegmentSumConfig,
  batchMatMulConfig,
  fusedMatMulConfig,
  tileConfig,
  maxPoolGradConfig,
  sumConfig,
  meanConfig,
  identityConfig,
  castConfig,
  fusedBatchNormConfig,
  // QatBatchNormTrain(Grad): training batch norm of src/core/qat/layers/batchNormTraining.ts, fused.
  ...bnTrainingConfigs,
  ...channelBinaryConfigs,
  ...optimizerUpdateConfigs,
  // QatFakeQuant* on WASM: replaces the JavaScript loops src/core/quant/fakeQuantKernels.ts registers
  // (whichever registered first: core skips names already registered, and this replaces core's).
  ...fakeQuantConfigs,
  // QatAbsMax (weight ranges) on WASM as a SIMD pass, over core's JavaScript loop (observerKernels.ts).
  absMaxConfig,
];

/**
 * Registers the project's kernels; safe to call any number of times. Registration is global to the
 * TF.js kernel registry and takes effect for the WASM backend whether or not it has started yet.
 */
export function registerProjectKernels(): void {
  for (const config of projectKernels) {
    const current = getKernel(config.kernelName, config.backendName);
    if (current?.kernelFunc === config.kernelFunc) continue;
    // TF.js warns on re-registration; replacing WASM's own kernel is deliberate, so make room first.
    if (current !== undefined) unregisterKernel(config.kernelName, config.backendName);
    registerKernel(config);
  }
}
