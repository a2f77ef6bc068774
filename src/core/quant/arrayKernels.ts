// Single-pass kernels over a backend's own memory, for the backends whose tensors are plain typed
// arrays (cpu, wasm). The quantization ops (fake-quant, LSQ, observers) register theirs through here;
// other backends use each op's composite of TF.js ops.
import * as tf from '../tf.js';

/** Typed-array access to a backend's tensors. Outputs must be allocated before inputs are read:
 *  a WASM heap that grows on allocation detaches views taken earlier. */
export interface ArrayAccess {
  read(t: tf.TensorInfo): Float32Array;
  alloc(shape: number[]): [tf.TensorInfo, () => Float32Array];
  /** Frees an output that will never become a tensor (the kernel refused its input). */
  free(t: tf.TensorInfo): void;
}

type CpuBackend = {
  data: { get(id: tf.DataId): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
  disposeData(id: tf.DataId): void;
};
type WasmBackend = {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  disposeData(id: tf.DataId): void;
};

export const arrayAccess: Record<string, (backend: unknown) => ArrayAccess> = {
  cpu: (backend) => {
    const b = backend as CpuBackend;
    return {
      read: (t) => b.data.get(t.dataId).values as Float32Array,
      alloc: (shape) => {
        const values = new Float32Array(tf.util.sizeFromShape(shape));
        return [b.makeTensorInfo(shape, 'float32', values), () => values];
      },
      free: (t) => b.disposeData(t.dataId),
    };
  },
  wasm: (backend) => {
    const b = backend as WasmBackend;
    return {
      read: (t) => b.typedArrayFromHeap(t),
      alloc: (shape) => {
        const info = b.makeOutput(shape, 'float32');
        return [info, () => b.typedArrayFromHeap(info)];
      },
      free: (t) => b.disposeData(t.dataId),
    };
  },
};

export type ArrayKernel<A> = (io: ArrayAccess, inputs: Record<string, tf.TensorInfo>, attrs: A) => tf.TensorInfo | tf.TensorInfo[];

/**
 * Registers `run` as `kernelName` on every array backend that has no kernel of that name yet: a
 * backend-specific kernel registered earlier (e.g. the engine's SIMD one on wasm) is kept.
 */
export function registerArrayKernel<A>(kernelName: string, run: ArrayKernel<A>): void {
  for (const [backendName, access] of Object.entries(arrayAccess)) {
    if (tf.getKernel(kernelName, backendName)) continue;
    tf.registerKernel({ kernelName, backendName, kernelFunc: ({ inputs, backend, attrs }) => run(access(backend), inputs as Record<string, tf.TensorInfo>, attrs as A) });
  }
}

/** Allocates an output and fills it; a fill that throws (a refused input) frees it instead of leaking it. */
export function filledOutput(io: ArrayAccess, shape: number[], fill: (data: () => Float32Array) => void): tf.TensorInfo {
  const [out, data] = io.alloc(shape);
  try {
    fill(data);
  } catch (err) {
    io.free(out);
    throw err;
  }
  return out;
}

export function hasKernel(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}
