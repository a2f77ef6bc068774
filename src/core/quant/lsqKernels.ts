// LSQ as registered TF.js kernels for the backends whose memory is a plain typed array (cpu, wasm):
// one pass for the forward, one for the input gradient, one for the step gradient (run only when the
// step is trained), for the same reason as the fake-quant kernels (fakeQuantKernels.ts: a chain of
// TF.js ops is ~10 passes per call). Other backends use the composite in lsq.ts.
import * as tf from '../tf.js';
import { arrayAccess, channelLayout } from './fakeQuantKernels.js';
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

function registerFor(backendName: string): void {
  const arrays = arrayAccess[backendName]!;
  if (!tf.getKernel(LSQ, backendName)) {
    tf.registerKernel({
      kernelName: LSQ,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { x, step } = inputs as { x: tf.TensorInfo; step: tf.TensorInfo };
        const a = attrs as unknown as LsqKernelAttrs;
        const io = arrays(backend);
        // Copied out before any allocation (which may detach WASM heap views); throws on a bad step.
        const steps = effectiveSteps(io.read(step), a.label);
        const [out, outData] = io.alloc(x.shape);
        try {
          if (tf.util.sizeFromShape(x.shape) > 0) {
            lsqForward(io.read(x), steps, a, channelLayout(x.shape, steps.length, a.axis), outData(), a.label);
          }
        } catch (err) {
          // NaN/Inf input: the output never becomes a tensor, so free its memory here.
          (backend as { disposeData(id: tf.DataId): void }).disposeData(out.dataId);
          throw err;
        }
        return out;
      },
    });
  }
  if (!tf.getKernel(LSQ_GRAD, backendName)) {
    tf.registerKernel({
      kernelName: LSQ_GRAD,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { dy, x, step } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; step: tf.TensorInfo };
        const a = attrs as unknown as LsqKernelAttrs;
        const io = arrays(backend);
        const steps = effectiveSteps(io.read(step), a.label);
        const [dx, dxData] = io.alloc(x.shape);
        lsqInputGrad(io.read(dy), io.read(x), steps, a, channelLayout(x.shape, steps.length, a.axis), dxData());
        return dx;
      },
    });
  }
  if (!tf.getKernel(LSQ_STEP_GRAD, backendName)) {
    tf.registerKernel({
      kernelName: LSQ_STEP_GRAD,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { dy, x, step } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; step: tf.TensorInfo };
        const a = attrs as unknown as LsqKernelAttrs;
        const io = arrays(backend);
        const steps = effectiveSteps(io.read(step), a.label);
        const [ds, dsData] = io.alloc(step.shape);
        lsqStepGrad(io.read(dy), io.read(x), steps, a, channelLayout(x.shape, steps.length, a.axis), dsData());
        return ds;
      },
    });
  }
}

let registered = false;

/** Registers the kernels and the op's gradient; idempotent. */
export function registerLsqKernels(): void {
  if (registered) return;
  registered = true;
  for (const name of Object.keys(arrayAccess)) registerFor(name);
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
  return tf.getKernel(LSQ, tf.getBackend()) !== undefined;
}
