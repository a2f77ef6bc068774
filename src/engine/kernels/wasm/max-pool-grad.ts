import {
  backend_util,
  MaxPoolGrad,
  type KernelConfig,
  type KernelFunc,
  type MaxPoolGradAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { replaceWasmKernel } from './builtin.js';
import { simdKernels } from './simd.js';

/**
 * MaxPoolGrad as one scatter: each pooling window finds its first maximum in the input (as the CPU
 * backend does: strict >, row-major) and adds its dy there. WASM's own kernel searched every window
 * that could cover each input position (seen: 33 ms for a 128×26×26×16 input). Channel counts that are a multiple of 4 run a SIMD loop
 * (simd.ts); others a JavaScript loop (≈ 11 ms there, bound by the data-dependent branch).
 */
function scatterMaxPoolGrad(builtin: KernelFunc): KernelFunc {
  return (args) => {
    const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as MaxPoolGradAttrs;
    if (input.dtype !== 'float32' || dy.dtype !== 'float32') return builtin(args);
    const backend = args.backend as BackendWasm;
    const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
    const out = backend.makeOutput(input.shape, 'float32');
    const x = backend.typedArrayFromHeap(input) as Float32Array;
    const g = backend.typedArrayFromHeap(dy) as Float32Array;
    const dx = backend.typedArrayFromHeap(out) as Float32Array;
    dx.fill(0);
    const { batchSize, inHeight, inWidth, inChannels: depth, outHeight, outWidth, strideHeight, strideWidth } = info;
    const fh = info.effectiveFilterHeight;
    const fw = info.effectiveFilterWidth;
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    const rowStride = inWidth * depth;
    // (The SIMD loop marks "no maximum" with a negative address, so it needs a heap below 2 GB.)
    const simd = depth % 4 === 0 && x.buffer.byteLength < 2 ** 31 ? simdKernels(backend) : null;
    if (simd !== null) {
      // One SIMD call per window, four channels a step (simd.ts); the loops over windows stay here.
      const window = simd.maxPoolWindow;
      const pixelBytes = depth * 4;
      const rowBytes = rowStride * 4;
      const dxDelta = dx.byteOffset - x.byteOffset;
      let dyAt = g.byteOffset;
      for (let b = 0; b < batchSize; b++) {
        const image = x.byteOffset + b * inHeight * rowBytes;
        for (let yr = 0; yr < outHeight; yr++) {
          const r0 = yr * strideHeight - top;
          const rMin = Math.max(0, r0);
          const rows = Math.min(inHeight, r0 + fh) - rMin;
          for (let yc = 0; yc < outWidth; yc++, dyAt += pixelBytes) {
            const c0 = yc * strideWidth - left;
            const cMin = Math.max(0, c0);
            const cols = Math.min(inWidth, c0 + fw) - cMin;
            window(image + rMin * rowBytes + cMin * pixelBytes, dxDelta, dyAt, rows, cols, rowBytes, pixelBytes);
          }
        }
      }
      return out;
    }
    let o = 0;
    for (let b = 0; b < batchSize; b++) {
      const image = b * inHeight * rowStride;
      for (let yr = 0; yr < outHeight; yr++) {
        const r0 = yr * strideHeight - top;
        const rMin = Math.max(0, r0);
        const rMax = Math.min(inHeight, r0 + fh);
        for (let yc = 0; yc < outWidth; yc++) {
          const c0 = yc * strideWidth - left;
          const cMin = Math.max(0, c0);
          const cMax = Math.min(inWidth, c0 + fw);
          for (let d = 0; d < depth; d++, o++) {
            let best = Number.NEGATIVE_INFINITY;
            let at = -1;
            for (let r = rMin; r < rMax; r++) {
              for (let c = cMin, i = image + r * rowStride + cMin * depth + d; c < cMax; c++, i += depth) {
                const v = x[i] as number;
                if (v > best) {
                  best = v;
                  at = i;
                }
              }
            }
            if (at >= 0) dx[at] = (dx[at] as number) + (g[o] as number);
          }
        }
      }
    }
    return out;
  };
}

export const maxPoolGradConfig: KernelConfig = replaceWasmKernel(MaxPoolGrad, scatterMaxPoolGrad);
