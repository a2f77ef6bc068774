import {
  FusedBatchNorm,
  util,
  type FusedBatchNormAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { replaceWasmKernel } from './builtin.js';
import { simdKernels } from './simd.js';

/**
 * FusedBatchNorm (tfjs-layers' BatchNormalization in training and inference) as one pass with the
 * per-channel factor scale / sqrt(variance + ε) worked out once per channel. WASM's kernel takes the
 * square root per element (seen: 6–8 ms for a 128×26×26×16 feature map). Channel counts that are a multiple of 4 run a
 * SIMD loop (simd.ts), others a JavaScript one. Parameters
 * must be per channel of the last axis or single values; anything else goes to WASM's own kernel.
 */
function perChannelBatchNorm(builtin: KernelFunc): KernelFunc {
  return (args) => {
    const { x, mean, variance, offset, scale } = args.inputs as Record<string, TensorInfo | undefined>;
    const { varianceEpsilon } = args.attrs as unknown as FusedBatchNormAttrs;
    const xi = x as TensorInfo;
    const params = [mean, variance, offset, scale];
    const channels = xi.shape.length > 0 ? (xi.shape[xi.shape.length - 1] as number) : 1;
    const size = util.sizeFromShape(xi.shape);
    const fits = (t: TensorInfo | undefined) => t === undefined || (t.dtype === 'float32' && [1, channels].includes(util.sizeFromShape(t.shape)));
    if (xi.dtype !== 'float32' || size === 0 || channels === 0 || !params.every(fits)) return builtin(args);
    const backend = args.backend as BackendWasm;
    const out = backend.makeOutput(xi.shape, 'float32');
    const src = backend.typedArrayFromHeap(xi) as Float32Array;
    const dst = backend.typedArrayFromHeap(out) as Float32Array;
    const perChannel = (t: TensorInfo | undefined, fallback: number): Float64Array => {
      const values = new Float64Array(channels).fill(fallback);
      if (t === undefined) return values;
      const v = backend.typedArrayFromHeap(t);
      for (let c = 0; c < channels; c++) values[c] = v.length === 1 ? (v[0] as number) : (v[c] as number);
      return values;
    };
    const m = perChannel(mean, 0);
    const o = perChannel(offset, 0);
    const s = perChannel(scale, 1);
    const k = perChannel(variance, 0).map((v, c) => (s[c] as number) / Math.sqrt(v + varianceEpsilon));
    const simd = channels % 4 === 0 ? simdKernels(backend) : null;
    if (simd !== null) {
      // float32 arithmetic from here: (x - mean)·factor + offset, within a few ulps of the CPU's float64.
      const table = backend.makeOutput([3 * channels], 'float32');
      const t = backend.typedArrayFromHeap(table) as Float32Array;
      t.set(m, 0);
      t.set(k, channels);
      t.set(o, 2 * channels);
      const xs = backend.typedArrayFromHeap(xi);
      simd.affine(xs.byteOffset, backend.typedArrayFromHeap(out).byteOffset, t.byteOffset, size / channels, channels * 4);
      backend.disposeData(table.dataId);
      return out;
    }
    for (let i = 0; i < size; ) {
      for (let c = 0; c < channels; c++, i++) dst[i] = (o[c] as number) + ((src[i] as number) - (m[c] as number)) * (k[c] as number);
    }
    return out;
  };
}

export const fusedBatchNormConfig: KernelConfig = replaceWasmKernel(FusedBatchNorm, perChannelBatchNorm);
