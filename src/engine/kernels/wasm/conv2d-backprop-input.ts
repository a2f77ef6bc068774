import {
  backend_util,
  Conv2DBackpropInput,
  transpose,
  type Conv2DBackpropInputAttrs,
  type Conv2DBackpropInputInputs,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type Tensor4D,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { conv2d } from './conv-ops.js';
import { inputGradient } from './input-gradient.js';
import { runOpsAsKernel } from './run-ops.js';

/**
 * Replaces WASM's own Conv2DBackpropInput, a scalar loop, with XNNPACK forward convolutions of dy
 * with the flipped filter, its in/out channels swapped ([kh, kw, C, O] → [kh, kw, O, C]).
 */
const conv2DBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as Conv2DBackpropInputInputs;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as Conv2DBackpropInputAttrs;
  const format = backend_util.convertConv2DDataFormat(dataFormat);
  const filterInfo = filter as TensorInfo;
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filterInfo.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    format,
  );
  return runOpsAsKernel(backend as KernelBackend, [dy as TensorInfo, filterInfo], (dy4, filter4) => {
    const channelsFirst = format === 'channelsFirst';
    const dys = (channelsFirst ? transpose(dy4, [0, 2, 3, 1]) : dy4) as Tensor4D;
    const dx = inputGradient(dys, filter4 as Tensor4D, info, (d, flipped, dilations, window) =>
      conv2d(d, transpose(flipped, [0, 1, 3, 2]), [1, 1], dilations, window),
    );
    return channelsFirst ? transpose(dx, [0, 3, 1, 2]) : dx;
  });
};

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput,
};
