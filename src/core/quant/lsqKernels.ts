// LSQ as registered TF.js kernels for the backends whose memory is a plain typed array (cpu, wasm):
// one pass for the forward, one for the input gradient, one for the step gradient (run only when the
// step is trained), for the same reason as the fake-quant kernels (fakeQuantKernels.ts: a chain of
// TF.js ops is ~10 passes per call). Other backends use the composite in lsq.ts.
import * as tf from '../tf.js';
import { type ArrayAccess, filledOutput, hasKernel, registerArrayKernel } from './arrayKernels.js';
import { channelLayout } from './fakeQuantKernels.js';
import { effectiveSteps, type LsqAttrs, lsqForward, lsqInputGrad, lsqStepGrad } from './lsqMath.js';

export const LSQ = 'QatLsq';
export const LSQ_GRAD = 'QatLsqGrad';
export const LSQ_STEP_GRAD = 'QatLsqStepGrad';

export interface LsqKernelAttrs extends LsqAttrs {
  /** Quantization axis of x for a per-channel step; -1 with a scalar step means per-tensor. */
  axis: number;
  /** Names the tensor in error messages. */
  label: string;
}

function registerArrayKernels(): void {
  // Steps are copied out before any allocation (which may detach WASM heap views); a bad step throws.
  const steps = (io: ArrayAccess, i: Record<string, tf.TensorInfo>, a: LsqKernelAttrs) => effectiveSteps(io.read(i.step!), a.label);
  const layout = (i: Record<string, tf.TensorInfo>, n: number, a: LsqKernelAttrs) => channelLayout(i.x!.shape, n, a.axis);
  registerArrayKernel<LsqKernelAttrs>(LSQ, (io, i, a) => {
    const s = steps(io, i, a);
    return filledOutput(io, i.x!.shape, (out) => {
      if (tf.util.sizeFromShape(i.x!.shape) > 0) lsqForward(io.read(i.x!), s, a, layout(i, s.length, a), out(), a.label);
    });
  });
  registerArrayKernel<LsqKernelAttrs>(LSQ_GRAD, (io, i, a) => {
    const s = steps(io, i, a);
    return filledOutput(io, i.x!.shape, (dx) => lsqInputGrad(io.read(i.dy!), io.read(i.x!), s, a, layout(i, s.length, a), dx()));
  });
  registerArrayKernel<LsqKernelAttrs>(LSQ_STEP_GRAD, (io, i, a) => {
    const s = steps(io, i, a);
    return filledOutput(io, i.step!.shape, (ds) => lsqStepGrad(io.read(i.dy!), io.read(i.x!), s, a, layout(i, s.length, a), ds()));
  });
}

let registered = false;

/** Registers the kernels and the op's gradient; idempotent. */
export function registerLsqKernels(): void {
  if (registered) return;
  registered = true;
  registerArrayKernels();
  tf.registerGradient({
    kernelName: LSQ,
    inputsToSave: ['x', 'step'],
    gradFunc: (dy, saved, attrs) => {
      const [x, step] = saved as tf.Tensor[];
      const inputs = { dy: dy as tf.Tensor, x: x!, step: step! };
      return {
        x: () => tf.engine().runKernel(LSQ_GRAD, inputs, attrs as never) as tf.Tensor,
        step: () => tf.engine().runKernel(LSQ_STEP_GRAD, inputs, attrs as never) as tf.Tensor,
      };
    },
  });
}

export function hasLsqKernel(): boolean {
  return hasKernel(LSQ);
}
