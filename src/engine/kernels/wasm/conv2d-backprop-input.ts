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
import { runBuiltin } from './builtin.js';
import { simdKernels, type SimdAddStrided } from './simd.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * The input gradient of an NHWC convolution with few input channels (a network's first layer, whose
 * input gradient TF.js's fused conv computes even though nothing uses it) as a matmul and a scatter:
 * columns = dy[M, O] · filter[K, O]ᵀ, then each column adds into its tap's input positions. The
 * forward convolution below would produce only 1–4 output channels, where XNNPACK runs at ≈ 1 GFLOP/s
 * (seen: 13 ms for 1 ← 16 channels, 28×28, batch 128; this ≈ 3 ms).
 */
function columnsInputGradient(wasm: BackendWasm, dy: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo, add: SimdAddStrided): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels: ci, outHeight, outWidth, outChannels: co } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const k = fh * fw * ci;
  const m = batchSize * outHeight * outWidth;
  const filterT = runBuiltin('Transpose', wasm, { x: { ...filter, shape: [k, co] } }, { perm: [1, 0] });
  const columns = runBuiltin('BatchMatMul', wasm, { a: { ...dy, shape: [m, co] }, b: filterT }, { transposeA: false, transposeB: false });
  wasm.disposeData(filterT.dataId);
  const out = wasm.makeOutput([batchSize, inHeight, inWidth, ci], 'float32');
  const dx = wasm.typedArrayFromHeap(out);
  dx.fill(0);
  const cols = wasm.typedArrayFromHeap(columns).byteOffset;
  for (let p = 0; p < fh; p++) {
    for (let q = 0; q < fw; q++) {
      const j0 = Math.max(0, Math.ceil((left - q * dw) / sw));
      const j1 = Math.min(outWidth, Math.floor((inWidth - 1 + left - q * dw) / sw) + 1);
      if (j1 <= j0) continue;
      for (let b = 0; b < batchSize; b++) {
        for (let i = 0; i < outHeight; i++) {
          const row = i * sh + p * dh - top;
          if (row < 0 || row >= inHeight) continue;
          const dxAt = dx.byteOffset + ((b * inHeight + row) * inWidth + j0 * sw + q * dw - left) * ci * 4;
          const colAt = cols + (((b * outHeight + i) * outWidth + j0) * k + (p * fw + q) * ci) * 4;
          for (let c = 0; c < ci; c++) add(dxAt + c * 4, sw * ci * 4, colAt + c * 4, k * 4, j1 - j0);
        }
      }
    }
  }
  wasm.disposeData(columns.dataId);
  return out;
}

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
  const dyInfo = dy as TensorInfo;
  if (format === 'channelsLast' && info.inChannels <= 4 && dyInfo.dtype === 'float32' && filterInfo.dtype === 'float32') {
    const simd = simdKernels(backend);
    if (simd !== null) return columnsInputGradient(backend as BackendWasm, dyInfo, filterInfo, info, simd.addStrided);
  }
  return runOpsAsKernel(backend as KernelBackend, [dyInfo, filterInfo], (dy4, filter4) => {
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
