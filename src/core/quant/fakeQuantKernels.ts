// The fake-quant op as registered TF.js kernels: one pass over the backend's own memory for the
// forward, one for the input gradient, one for both range gradients (run only when a range is trained). A chain of TF.js ops costs ~10 passes and made a QAT step
// 2.6x a float step on WASM; single-pass kernels measured 1.07x (DESIGN.md §6). Registered for the
// backends whose memory is a plain typed array (cpu, wasm); others use the composite in fakeQuant.ts.
import * as tf from '../tf.js';
import { type ArrayAccess, filledOutput, hasKernel, registerArrayKernel } from './arrayKernels.js';
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

export function channelLayout(shape: number[], rangeSize: number, axis: number): ChannelLayout {
  if (rangeSize === 1 && axis < 0) return { channels: 1, inner: Math.max(1, tf.util.sizeFromShape(shape)) };
  const ax = axis < 0 ? shape.length + axis : axis;
  if (shape[ax] !== rangeSize) {
    throw new RangeError(`per-channel range has ${rangeSize} values but axis ${axis} of shape [${shape}] has ${shape[ax]}`);
  }
  return { channels: rangeSize, inner: tf.util.sizeFromShape(shape.slice(ax + 1)) };
}

type Inputs = Record<string, tf.TensorInfo>;
const rangesOf = (io: ArrayAccess, i: Inputs, a: FakeQuantKernelAttrs) => nudgeAll(io.read(i.min!), io.read(i.max!), a, a.label);
const layoutOf = (i: Inputs, channels: number, a: FakeQuantKernelAttrs) => channelLayout(i.x!.shape, channels, a.axis);

function registerArrayKernels(): void {
  registerArrayKernel<FakeQuantKernelAttrs>(FAKE_QUANT, (io, i, a) =>
    filledOutput(io, i.x!.shape, (out) => {
      const ranges = rangesOf(io, i, a);
      if (tf.util.sizeFromShape(i.x!.shape) > 0) fakeQuantForward(io.read(i.x!), ranges, layoutOf(i, ranges.length, a), out(), a.label);
    }),
  );
  registerArrayKernel<FakeQuantKernelAttrs>(FAKE_QUANT_GRAD, (io, i, a) =>
    filledOutput(io, i.x!.shape, (dx) => {
      const ranges = rangesOf(io, i, a);
      fakeQuantInputGrad(io.read(i.dy!), io.read(i.x!), ranges, layoutOf(i, ranges.length, a), dx());
    }),
  );
  registerArrayKernel<FakeQuantKernelAttrs>(FAKE_QUANT_RANGE_GRAD, (io, i, a) => {
    const [dmin, dminData] = io.alloc(i.min!.shape);
    const [dmax, dmaxData] = io.alloc(i.max!.shape);
    const ranges = rangesOf(io, i, a);
    fakeQuantRangeGrad(io.read(i.dy!), io.read(i.x!), ranges, layoutOf(i, ranges.length, a), dminData(), dmaxData());
    return [dmin, dmax];
  });
}

let registered = false;

/** Registers the kernels and the op's gradient; idempotent. */
export function registerFakeQuantKernels(): void {
  if (registered) return;
  registered = true;
  registerArrayKernels();
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
  return hasKernel(FAKE_QUANT);
}

