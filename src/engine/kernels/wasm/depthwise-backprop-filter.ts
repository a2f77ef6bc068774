import {
  backend_util,
  DepthwiseConv2dNativeBackpropFilter,
  reshape,
  stack,
  sum,
  transpose,
  zeros,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type DepthwiseConv2dNativeBackpropFilterInputs,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type Tensor4D,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { heapSlice } from './heap-slice.js';
import { runOpsAsKernel } from './run-ops.js';
import { tiledDepthwiseCorrelation } from './tiled-correlation.js';

/**
 * WASM has no DepthwiseConv2dNativeBackpropFilter. Same identity as the regular filter gradient
 * (see filter-gradient.ts), but channels must not mix, so every (batch, channel) pair becomes its
 * own channel of XNNPACK depthwise convolutions, and the batch is summed afterwards.
 */
const depthwiseBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as DepthwiseConv2dNativeBackpropFilterInputs;
  const { strides, dilations, pad, dimRoundingMode, filterShape } =
    attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
  const xInfo = x as TensorInfo;
  const info = backend_util.computeConv2DInfo(
    xInfo.shape as [number, number, number, number],
    filterShape,
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
    true,
  );
  const [batch, , , channels] = xInfo.shape as [number, number, number, number];
  const [filterHeight, filterWidth, , multiplier] = filterShape;
  return runOpsAsKernel(backend as KernelBackend, [xInfo, dy as TensorInfo], (x4, dy4) => {
    const [, height, width] = (x4 as Tensor4D).shape;
    const [, outHeight, outWidth] = (dy4 as Tensor4D).shape;
    const rows = batch * channels;
    // [1, H, W, B·C] against [Ho, Wo, B·C] per multiplier index m: channel b·C + c of the input
    // meets dy[b, ·, ·, c·M + m]. XNNPACK's fast depthwise path takes multiplier 1 only, hence one
    // correlation per m rather than one with multiplier M.
    const input = reshape(transpose(x4, [1, 2, 0, 3]), [1, height, width, rows]) as Tensor4D;
    const kernels = transpose(reshape(dy4, [batch, outHeight * outWidth, channels, multiplier]), [3, 1, 0, 2]);
    const perMultiplier = Array.from({ length: multiplier }, (_, m) => {
      const kernel = reshape(
        multiplier === 1 ? kernels : heapSlice(kernels, [m, 0, 0, 0], [1, outHeight * outWidth, batch, channels]),
        [outHeight, outWidth, rows, 1],
      ) as Tensor4D;
      const perBatch = tiledDepthwiseCorrelation(input, kernel, info);
      if (perBatch === null) return zeros([filterHeight, filterWidth, channels]);
      return sum(reshape(perBatch, [filterHeight, filterWidth, batch, channels]), 2);
    });
    return stack(perMultiplier, 3);
  });
};

export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter,
};
