import type { backend_util } from '@tensorflow/tfjs-core';
import { axisWindow } from './window.js';
import type { ConvWindow, Pair } from './conv-ops.js';

/**
 * The filter gradient of a convolution is a forward convolution of the input with the output
 * gradient: dW[p,q] = Σ_{b,i,j} x[i·s + p·d, j·s + q·d] · dy[i,j], i.e. a correlation over the
 * input with dy as the "filter", whose stride is the conv's dilation and whose dilation is the
 * conv's stride. The batch becomes the reduction (channel) axis once the caller transposes it there.
 *
 * This is the geometry of that correlation: the input window (the conv's padding, and the rows the
 * conv never reached cut away) that makes it produce exactly filterHeight × filterWidth outputs.
 * `null` means every tap reads padding only, so the gradient is zero.
 */
export interface FilterGradientPlan {
  window: ConvWindow;
  strides: Pair;
  dilations: Pair;
}

export function planFilterGradient(info: backend_util.Conv2DInfo): FilterGradientPlan | null {
  const extent = (out: number, stride: number, filter: number, dilation: number) =>
    (out - 1) * stride + (filter - 1) * dilation + 1;
  const rows = axisWindow(
    -info.padInfo.top,
    extent(info.outHeight, info.strideHeight, info.filterHeight, info.dilationHeight),
    info.inHeight,
  );
  const cols = axisWindow(
    -info.padInfo.left,
    extent(info.outWidth, info.strideWidth, info.filterWidth, info.dilationWidth),
    info.inWidth,
  );
  if (rows === null || cols === null) return null;
  return {
    window: { rows, cols },
    strides: [info.dilationHeight, info.dilationWidth],
    dilations: [info.strideHeight, info.strideWidth],
  };
}
