import {
  _FusedMatMul,
  BatchMatMul,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { replaceWasmKernel, runBuiltin } from './builtin.js';

/**
 * WASM's matmul runs XNNPACK only on untransposed operands; a transposed one takes a scalar loop about
 * 12× slower (seen: 128×784·784×256 in 4 ms untransposed, 52–57 ms with either operand transposed).
 * Every gradient of a matmul has a transposed operand, so those are transposed once here (WASM's
 * Transpose is a fast copy) and multiplied untransposed. Same products, same sums.
 */
function untransposing(builtin: KernelFunc): KernelFunc {
  return (args) => {
    const attrs = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    if ((!attrs.transposeA && !attrs.transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32') return builtin(args);
    const backend = args.backend as BackendWasm;
    const temporaries: TensorInfo[] = [];
    const flip = (t: TensorInfo): TensorInfo => {
      const perm = t.shape.map((_, i) => i);
      const r = perm.length;
      [perm[r - 2], perm[r - 1]] = [perm[r - 1] as number, perm[r - 2] as number];
      const out = runBuiltin('Transpose', backend, { x: t }, { perm });
      temporaries.push(out);
      return out;
    };
    try {
      return builtin({
        inputs: { ...args.inputs, a: attrs.transposeA ? flip(a) : a, b: attrs.transposeB ? flip(b) : b },
        backend,
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      });
    } finally {
      for (const t of temporaries) backend.disposeData(t.dataId);
    }
  };
}

export const batchMatMulConfig: KernelConfig = replaceWasmKernel(BatchMatMul, untransposing);
export const fusedMatMulConfig: KernelConfig = replaceWasmKernel(_FusedMatMul, untransposing);
