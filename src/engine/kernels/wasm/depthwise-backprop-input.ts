import {
  backend_util,
  DepthwiseConv2dNativeBackpropInput,
  reshape,
  sum,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type DepthwiseConv2dNativeBackpropInputInputs,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type Tensor4D,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { depthwiseConv2d } from './conv-ops.js';
import { inputGradient } from './input-gradient.js';
import { runOpsAsKernel } from './run-ops.js';

/**
 * WASM has no DepthwiseConv2dNativeBackpropInput. Each of dy's C·M channels is convolved with its
 * own flipped filter slice by one XNNPACK depthwise convolution (multiplier 1); the M channels
 * that came from one input channel are then summed.
 */
const depthwiseBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as DepthwiseConv2dNativeBackpropInputInputs;
  const { strides, dilations, pad, dimRoundingMode, inputShape } =
    attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
  const filterInfo = filter as TensorInfo;
  const [, , channels, multiplier] = filterInfo.shape as [number, number, number, number];
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filterInfo.shape as [number, number, number, number],
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
    true,
  );
  return runOpsAsKernel(backend as KernelBackend, [dy as TensorInfo, filterInfo], (dy4, filter4) =>
    inputGradient(dy4 as Tensor4D, filter4 as Tensor4D, info, (d, flipped, phaseDilations, window) => {
      const [kh, kw] = flipped.shape;
      const perChannel = reshape(flipped, [kh, kw, channels * multiplier, 1]) as Tensor4D;
      const out = depthwiseConv2d(d, perChannel, [1, 1], phaseDilations, window);
      if (multiplier === 1) return out;
      const [b, h, w] = out.shape;
      return sum(reshape(out, [b, h, w, channels, multiplier]), 4) as Tensor4D;
    }),
  );
};

export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput,
};
