// Layer factories shared by the zoo's architectures, configured as the PyTorch peer's modules are,
// so that shapes, parameter counts and batch-norm behaviour line up across the two implementations.
import * as tfl from '@tensorflow/tfjs-layers';
import { torchUniform } from './init.js';

type SymbolicTensor = tfl.SymbolicTensor;

/** PyTorch BatchNorm2d defaults: running stats updated with weight 0.1 (Keras momentum 0.9), eps 1e-5.
 *  (One difference stays: TF.js feeds the biased batch variance into the running variance, PyTorch the
 *  unbiased one; at batch 128 × 26 × 26 positions the two differ by < 0.002%.) */
export const BN_MOMENTUM = 0.9;
export const BN_EPSILON = 1e-5;

function channels(x: SymbolicTensor): number {
  const c = x.shape[x.shape.length - 1];
  if (c == null) throw new Error(`unknown channel count in shape ${JSON.stringify(x.shape)}`);
  return c;
}

export function dense(x: SymbolicTensor, name: string, units: number, seed: number, activation?: 'relu'): SymbolicTensor {
  const fanIn = channels(x);
  return tfl.layers
    .dense({
      name,
      units,
      activation: activation ?? 'linear',
      kernelInitializer: torchUniform(fanIn, seed, `${name}/kernel`),
      biasInitializer: torchUniform(fanIn, seed, `${name}/bias`),
    })
    .apply(x) as SymbolicTensor;
}

export interface ConvArgs {
  filters: number;
  kernelSize: number;
  strides?: number;
  padding?: 'valid' | 'same';
  useBias: boolean;
}

export function conv2d(x: SymbolicTensor, name: string, a: ConvArgs, seed: number): SymbolicTensor {
  const fanIn = channels(x) * a.kernelSize * a.kernelSize;
  return tfl.layers
    .conv2d({
      name,
      filters: a.filters,
      kernelSize: a.kernelSize,
      strides: a.strides ?? 1,
      padding: a.padding ?? 'valid',
      useBias: a.useBias,
      kernelInitializer: torchUniform(fanIn, seed, `${name}/kernel`),
      ...(a.useBias ? { biasInitializer: torchUniform(fanIn, seed, `${name}/bias`) } : {}),
    })
    .apply(x) as SymbolicTensor;
}

/** Depthwise 3×3 (multiplier 1): PyTorch's grouped conv with groups = channels has fan_in = k·k. */
export function depthwise(x: SymbolicTensor, name: string, kernelSize: number, strides: number, seed: number): SymbolicTensor {
  return tfl.layers
    .depthwiseConv2d({
      name,
      kernelSize,
      strides,
      padding: 'same',
      depthMultiplier: 1,
      useBias: false,
      depthwiseInitializer: torchUniform(kernelSize * kernelSize, seed, `${name}/depthwise_kernel`),
    })
    .apply(x) as SymbolicTensor;
}

export function batchNorm(x: SymbolicTensor, name: string): SymbolicTensor {
  return tfl.layers.batchNormalization({ name, axis: -1, momentum: BN_MOMENTUM, epsilon: BN_EPSILON }).apply(x) as SymbolicTensor;
}

/** A separate activation layer (not fused into the conv) so a QAT transform can see and fold it. */
export function relu(x: SymbolicTensor, name: string, maxValue?: number): SymbolicTensor {
  return tfl.layers.reLU({ name, ...(maxValue != null ? { maxValue } : {}) }).apply(x) as SymbolicTensor;
}
