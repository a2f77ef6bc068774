import {
  backend_util,
  Conv2DBackpropFilter,
  transpose,
  zeros,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropFilterInputs,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type Tensor4D,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { conv2d, sliceToWindow } from './conv-ops.js';
import { planFilterGradient } from './filter-gradient.js';
import { runOpsAsKernel } from './run-ops.js';

/** WASM has no Conv2DBackpropFilter; this one runs on WASM's XNNPACK forward convolution. */
const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as Conv2DBackpropFilterInputs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
  const format = backend_util.convertConv2DDataFormat(dataFormat);
  const info = backend_util.computeConv2DInfo(
    (x as TensorInfo).shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    format,
  );
  const plan = planFilterGradient(info);
  return runOpsAsKernel(backend as KernelBackend, [x as TensorInfo, dy as TensorInfo], (x4, dy4) => {
    if (plan === null) return zeros(filterShape);
    const channelsFirst = format === 'channelsFirst';
    const xs = (channelsFirst ? transpose(x4, [0, 2, 3, 1]) : x4) as Tensor4D;
    const dys = (channelsFirst ? transpose(dy4, [0, 2, 3, 1]) : dy4) as Tensor4D;
    // [C, H, W, B] against [Ho, Wo, B, O]: the batch is summed as the convolution's channel axis.
    const input = sliceToWindow(transpose(xs, [3, 1, 2, 0]), plan.window);
    const kernel = transpose(dys, [1, 2, 0, 3]);
    const grad = conv2d(input, kernel, plan.strides, plan.dilations, plan.window);
    return transpose(grad, [1, 2, 0, 3]);
  });
};

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter,
};
