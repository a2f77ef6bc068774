// The fake-quant op as registered TF.js kernels: one pass over the backend's own memory for the
// forward, one for the input gradient, one for both range gradients (run only when a range is trained). A chain of TF.js ops costs ~10 passes and made a QAT step
// 2.6x a float step on WASM; single-pass kernels measured 1.07x (DESIGN.md §6). Registered for the
// backends whose memory is a plain typed array (cpu, wasm); others use the composite in fakeQuant.ts.
import * as tf from '../tf.js';
import { type ChannelLayout, type FakeQuantAttrs, fakeQuantForward, fakeQuantInputGrad, fakeQuantRangeGrad, nudgeAll } from './fakeQuantMath.js';

export const FAKE_QUANT = 'QatFakeQuant';
export const FAKE_QUANT_GRAD = 'QatFakeQuantGrad';
export const FAKE_QUANT_RANGE_GRAD = 'QatFakeQuantRangeGrad';

export interface FakeQuantKernelAttrs extends FakeQuantAttrs {
  /** Quantization axis of x for per-channel ranges; -1 with a scalar range means per-tensor. */
  axis: number;
  /** Names the tensor in error messages (e.g. the layer). */
  label: string;
}

/** Typed-array access to a backend's tensors. Outputs must be allocated before inputs are read:
 *  a WASM heap that grows on allocation detaches views taken earlier. */
interface ArrayAccess {
  read(t: tf.TensorInfo): Float32Array;
  alloc(shape: number[]): [tf.TensorInfo, () => Float32Array];
}

type CpuBackend = { data: { get(id: tf.DataId): { values: unknown } }; makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo };
type WasmBackend = { makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo; typedArrayFromHeap(t: tf.TensorInfo): Float32Array };

const access: Record<string, (backend: unknown) => ArrayAccess> = {
  cpu: (backend) => {
    const b = backend as CpuBackend;
    return {
      read: (t) => b.data.get(t.dataId).values as Float32Array,
      alloc: (shape) => {
        const values = new Float32Array(tf.util.sizeFromShape(shape));
        return [b.makeTensorInfo(shape, 'float32', values), () => values];
      },
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
    };
  },
};

export function channelLayout(shape: number[], rangeSize: number, axis: number): ChannelLayout {
  if (rangeSize === 1 && axis < 0) return { channels: 1, inner: Math.max(1, tf.util.sizeFromShape(shape)) };
  const ax = axis < 0 ? shape.length + axis : axis;
  if (shape[ax] !== rangeSize) {
    throw new RangeError(`per-channel range has ${rangeSize} values but axis ${axis} of shape [${shape}] has ${shape[ax]}`);
  }
  return { channels: rangeSize, inner: tf.util.sizeFromShape(shape.slice(ax + 1)) };
}

function registerFor(backendName: string): void {
  const arrays = access[backendName]!;
  if (!tf.getKernel(FAKE_QUANT, backendName)) {
    tf.registerKernel({
      kernelName: FAKE_QUANT,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { x, min, max } = inputs as { x: tf.TensorInfo; min: tf.TensorInfo; max: tf.TensorInfo };
        const a = attrs as unknown as FakeQuantKernelAttrs;
        const io = arrays(backend);
        const [out, outData] = io.alloc(x.shape);
        try {
          const ranges = nudgeAll(io.read(min), io.read(max), a, a.label);
          if (tf.util.sizeFromShape(x.shape) > 0) {
            fakeQuantForward(io.read(x), ranges, channelLayout(x.shape, ranges.length, a.axis), outData(), a.label);
          }
        } catch (err) {
          // A refused input (NaN/Inf, bad range) must not leak the output already allocated.
          (backend as { disposeData(id: tf.DataId): void }).disposeData(out.dataId);
          throw err;
        }
        return out;
      },
    });
  }
  if (!tf.getKernel(FAKE_QUANT_GRAD, backendName)) {
    tf.registerKernel({
      kernelName: FAKE_QUANT_GRAD,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { dy, x, min, max } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; min: tf.TensorInfo; max: tf.TensorInfo };
        const a = attrs as unknown as FakeQuantKernelAttrs;
        const io = arrays(backend);
        const [dx, dxData] = io.alloc(x.shape);
        const ranges = nudgeAll(io.read(min), io.read(max), a, a.label);
        fakeQuantInputGrad(io.read(dy), io.read(x), ranges, channelLayout(x.shape, ranges.length, a.axis), dxData());
        return dx;
      },
    });
  }
  if (!tf.getKernel(FAKE_QUANT_RANGE_GRAD, backendName)) {
    tf.registerKernel({
      kernelName: FAKE_QUANT_RANGE_GRAD,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { dy, x, min, max } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; min: tf.TensorInfo; max: tf.TensorInfo };
        const a = attrs as unknown as FakeQuantKernelAttrs;
        const io = arrays(backend);
        const [dmin, dminData] = io.alloc(min.shape);
        const [dmax, dmaxData] = io.alloc(max.shape);
        const ranges = nudgeAll(io.read(min), io.read(max), a, a.label);
        fakeQuantRangeGrad(io.read(dy), io.read(x), ranges, channelLayout(x.shape, ranges.length, a.axis), dminData(), dmaxData());
        return [dmin, dmax];
      },
    });
  }
}

let registered = false;

/** Registers the kernels and the op's gradient; idempotent. */
export function registerFakeQuantKernels(): void {
  if (registered) return;
  registered = true;
  for (const name of Object.keys(access)) registerFor(name);
  tf.registerGradient({
    kernelName: FAKE_QUANT,
    inputsToSave: ['x', 'min', 'max'],
    gradFunc: (dy, saved, attrs) => {
      const [x, min, max] = saved as tf.Tensor[];
      const inputs = { dy: dy as tf.Tensor, x: x!, min: min!, max: max! };
      // Each thunk runs in its own tidy, so they cannot share one kernel's outputs; the range thunks
      // only run when a range is trained (fixed observer ranges never are).
      const ranges = () => tf.engine().runKernel(FAKE_QUANT_RANGE_GRAD, inputs, attrs as never) as tf.Tensor[];
      return {
        x: () => tf.engine().runKernel(FAKE_QUANT_GRAD, inputs, attrs as never) as tf.Tensor,
        min: () => ranges()[0]!,
        max: () => ranges()[1]!,
      };
    },
  });
}

export function hasFakeQuantKernel(): boolean {
  return tf.getKernel(FAKE_QUANT, tf.getBackend()) !== undefined;
}

/** The backends' typed-array access, shared with the LSQ kernels (lsqKernels.ts). */
export { access as arrayAccess, type ArrayAccess };
