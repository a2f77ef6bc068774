import { Cast, Identity, type CastAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { replaceWasmKernel } from './builtin.js';

/**
 * The result shares the input's buffer, as Reshape does on WASM and Identity does on the CPU backend:
 * tensors are immutable, so a copy buys nothing. WASM's Identity (and its Cast to the same dtype)
 * copied every byte; TF.js runs Identity for every gradient passed through, every tf.clone, every
 * variable read in tfjs-layers (seen: 74 Identity calls, 15 ms of a cnn step).
 */
function sharing(builtin: KernelFunc, sameType: (x: TensorInfo, attrs: unknown) => boolean): KernelFunc {
  return (args) => {
    const x = (args.inputs as { x: TensorInfo }).x;
    if (x.dtype === 'string' || x.dtype === 'complex64' || !sameType(x, args.attrs)) return builtin(args);
    (args.backend as BackendWasm).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}

export const identityConfig: KernelConfig = replaceWasmKernel(Identity, (builtin) => sharing(builtin, () => true));
export const castConfig: KernelConfig = replaceWasmKernel(Cast, (builtin) =>
  sharing(builtin, (x, attrs) => (attrs as CastAttrs).dtype === x.dtype),
);
