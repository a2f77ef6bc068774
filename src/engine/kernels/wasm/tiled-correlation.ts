import { addN, pad, type backend_util, type Tensor4D } from '@tensorflow/tfjs-core';
import { depthwiseConv2d, sliceToWindow, type Pair } from './conv-ops.js';
import { heapSlice } from './heap-slice.js';
import { axisWindow } from './window.js';

/**
 * XNNPACK runs a depthwise convolution fast only for a few kernel sizes (3×3 and 5×5 measured at
 * 3–8 GFLOP/s); a kernel as large as a feature map (what the filter gradient correlates with) falls
 * to a generic path near 0.3 GFLOP/s. So the large kernel is cut into 5×5 tiles: each tile
 * correlates with the input shifted by its offset, and the partial results are summed.
 */
const TILE = 5;

/**
 * Σ_{i,j} input[p·dh + i·sh, q·dw + j·sw] · kernel[i, j] per channel, for p < filterHeight and
 * q < filterWidth, where row/column 0 of `input` sits at −padTop/−padLeft (zeros outside it).
 * input: [1, H, W, K]; kernel: [kh, kw, K, M]; result: [1, filterHeight, filterWidth, K·M].
 */
export function tiledDepthwiseCorrelation(input: Tensor4D, kernel: Tensor4D, info: backend_util.Conv2DInfo): Tensor4D | null {
  const [, height, width, channels] = input.shape;
  const [kh, kw, , multiplier] = kernel.shape;
  const strides: Pair = [info.dilationHeight, info.dilationWidth];
  const dilations: Pair = [info.strideHeight, info.strideWidth];
  const rowsPerTile = (info.filterHeight - 1) * info.dilationHeight + (TILE - 1) * info.strideHeight + 1;
  const colsPerTile = (info.filterWidth - 1) * info.dilationWidth + (TILE - 1) * info.strideWidth + 1;
  const partials: Tensor4D[] = [];
  for (let i0 = 0; i0 < kh; i0 += TILE) {
    const rows = axisWindow(i0 * info.strideHeight - info.padInfo.top, rowsPerTile, height);
    if (rows === null) continue;
    for (let j0 = 0; j0 < kw; j0 += TILE) {
      const cols = axisWindow(j0 * info.strideWidth - info.padInfo.left, colsPerTile, width);
      if (cols === null) continue;
      const th = Math.min(TILE, kh - i0);
      const tw = Math.min(TILE, kw - j0);
      let tile = heapSlice(kernel, [i0, j0, 0, 0], [th, tw, channels, multiplier]);
      // Partial tiles at the far edges are filled out with zero taps to keep the fast 5×5 path.
      if (th < TILE || tw < TILE) tile = pad(tile, [[0, TILE - th], [0, TILE - tw], [0, 0], [0, 0]]);
      const window = { rows, cols };
      partials.push(depthwiseConv2d(sliceToWindow(input, window), tile, strides, dilations, window));
    }
  }
  if (partials.length === 0) return null;
  return partials.length === 1 ? (partials[0] as Tensor4D) : addN(partials);
}
