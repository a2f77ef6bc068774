import {
  Conv2D,
  DepthwiseConv2dNative,
  engine,
  type NamedAttrMap,
  type Tensor4D,
} from '@tensorflow/tfjs-core';
import { heapSlice } from './heap-slice.js';
import type { AxisWindow } from './window.js';

/**
 * The forward convolutions the gradient kernels are built from. They call the kernels directly
 * rather than through tf.conv2d: the op refuses strides and dilations both above 1, which the
 * filter gradient of a strided, dilated depthwise convolution needs (XNNPACK itself accepts it).
 */
export type Pair = [number, number];

export interface ConvWindow {
  rows: AxisWindow;
  cols: AxisWindow;
}

/** Slices `t` (NHWC) to the window's rows and columns, only when that drops something. */
export function sliceToWindow<T extends Tensor4D>(t: T, { rows, cols }: ConvWindow): T {
  const [b, h, w, c] = t.shape;
  if (rows.begin === 0 && rows.size === h && cols.begin === 0 && cols.size === w) return t;
  return heapSlice(t, [0, rows.begin, cols.begin, 0], [b, rows.size, cols.size, c]);
}

function attrs(strides: Pair, dilations: Pair, { rows, cols }: ConvWindow): NamedAttrMap {
  const pad = [[0, 0], [rows.padBefore, rows.padAfter], [cols.padBefore, cols.padAfter], [0, 0]];
  return { strides, dilations, pad, dataFormat: 'NHWC' } as unknown as NamedAttrMap;
}

export function conv2d(x: Tensor4D, filter: Tensor4D, strides: Pair, dilations: Pair, win: ConvWindow): Tensor4D {
  return engine().runKernel(Conv2D, { x, filter }, attrs(strides, dilations, win));
}

export function depthwiseConv2d(
  x: Tensor4D,
  filter: Tensor4D,
  strides: Pair,
  dilations: Pair,
  win: ConvWindow,
): Tensor4D {
  return engine().runKernel(DepthwiseConv2dNative, { x, filter }, attrs(strides, dilations, win));
}
