import { engine, tidy, type KernelBackend, type Tensor, type TensorInfo } from '@tensorflow/tfjs-core';

/**
 * Runs ordinary TF.js ops (which dispatch to WASM's own fast kernels) on a kernel's inputs and
 * returns the result as that kernel's output, without copying it.
 *
 * Inputs reach a kernel as bare TensorInfos whose buffers belong to the caller. Wrapping one as a
 * Tensor does not take a reference, so disposing the wrapper would free the caller's buffer: each
 * wrapper therefore takes a reference of its own first. The result's buffer gets one extra
 * reference before its Tensor is disposed, which the engine then owns through the kernel output.
 */
export function runOpsAsKernel(
  backend: KernelBackend,
  inputs: readonly TensorInfo[],
  body: (...tensors: Tensor[]) => Tensor,
): TensorInfo {
  const wrapped = inputs.map((info) => {
    backend.incRef(info.dataId);
    return engine().makeTensorFromTensorInfo(info, backend);
  });
  let result: Tensor;
  try {
    result = tidy(() => body(...wrapped));
  } finally {
    for (const t of wrapped) t.dispose();
  }
  backend.incRef(result.dataId);
  result.dispose();
  return { dataId: result.dataId, shape: result.shape, dtype: result.dtype };
}
