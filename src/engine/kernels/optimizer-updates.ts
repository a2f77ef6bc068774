// Single-pass optimizer updates, registered for the backends whose tensors are plain typed arrays
// (cpu, wasm). Written as TF.js ops an Adam update is 12 passes over each weight and its slots (seen:
// ≈ 2.5 ms of an mlp step on WASM); here it is one. src/core/train/optimizers.ts reaches these by
// name through tf.engine().runKernel and keeps its op-by-op form for other backends, so the names and
// attributes below are a contract with it (see src/core/train/fusedUpdates.ts).
//
// Every operation is rounded to float32 in the order the op-by-op form runs it (Math.fround of a
// double +, -, ×, ÷ or sqrt of float32 operands is the float32 result), so both give the same bits.
import { simdKernels } from './wasm/simd.js';
import { type DataId, type DataType, type KernelConfig, type KernelFunc, type TensorInfo, util } from '@tensorflow/tfjs-core';

export const ADAM_UPDATE = 'QatAdamUpdate';
export const SGD_UPDATE = 'QatSgdUpdate';

/** Adam: m' = b1·m + c1·g; v' = b2·v + c2·g²; w' = w - stepSize · m' / (sqrt(v') + epsilon). Outputs [w', m', v']. */
export interface AdamUpdateAttrs {
  beta1: number;
  beta2: number;
  /** 1 - beta1 and 1 - beta2, as the caller computed them. */
  oneMinusBeta1: number;
  oneMinusBeta2: number;
  stepSize: number;
  epsilon: number;
}

/** SGD: with momentum, buf' = momentum·buf + g and the direction is buf' (or g + momentum·buf'
 *  if nesterov); w' = w - lr · direction. Outputs [w'] or, with a `buf` input, [w', buf']. */
export interface SgdUpdateAttrs {
  lr: number;
  momentum: number;
  nesterov: boolean;
}

interface ArrayAccess {
  read(t: TensorInfo): Float32Array;
  /** Allocates every output first: a growing WASM heap detaches views taken before. */
  alloc(shapes: number[][]): { infos: TensorInfo[]; views: () => Float32Array[] };
}

type CpuBackend = { data: { get(id: DataId): { values: unknown } }; makeTensorInfo(shape: number[], dtype: DataType, values: Float32Array): TensorInfo };
type WasmBackend = { makeOutput(shape: number[], dtype: DataType): TensorInfo; typedArrayFromHeap(t: TensorInfo): Float32Array };

const access: Record<'cpu' | 'wasm', (backend: unknown) => ArrayAccess> = {
  cpu: (backend) => {
    const b = backend as CpuBackend;
    return {
      read: (t) => b.data.get(t.dataId).values as Float32Array,
      alloc: (shapes) => {
        const arrays = shapes.map((s) => new Float32Array(util.sizeFromShape(s)));
        return { infos: shapes.map((s, i) => b.makeTensorInfo(s, 'float32', arrays[i] as Float32Array)), views: () => arrays };
      },
    };
  },
  wasm: (backend) => {
    const b = backend as WasmBackend;
    return {
      read: (t) => b.typedArrayFromHeap(t),
      alloc: (shapes) => {
        const infos = shapes.map((s) => b.makeOutput(s, 'float32'));
        return { infos, views: () => infos.map((t) => b.typedArrayFromHeap(t)) };
      },
    };
  },
};

function checkFloat(label: string, tensors: Record<string, TensorInfo>, shape: number[]): void {
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== 'float32') throw new TypeError(`${label}: ${name} must be float32, got ${t.dtype}`);
    if (!util.arraysEqual(t.shape, shape)) throw new RangeError(`${label}: ${name} has shape [${t.shape}], the weight [${shape}]`);
  }
}

function adamKernel(kind: 'cpu' | 'wasm'): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { w, m, v, g } = inputs as { w: TensorInfo; m: TensorInfo; v: TensorInfo; g: TensorInfo };
    checkFloat(ADAM_UPDATE, { w, m, v, g }, w.shape);
    const a = attrs as unknown as AdamUpdateAttrs;
    const f = Math.fround;
    const b1 = f(a.beta1);
    const b2 = f(a.beta2);
    const c1 = f(a.oneMinusBeta1);
    const c2 = f(a.oneMinusBeta2);
    const step = f(a.stepSize);
    const eps = f(a.epsilon);
    const io = access[kind](backend);
    const { infos, views } = io.alloc([w.shape, w.shape, w.shape]);
    const [wo, mo, vo] = views() as [Float32Array, Float32Array, Float32Array];
    const wi = io.read(w);
    const mi = io.read(m);
    const vi = io.read(v);
    const gi = io.read(g);
    let start = 0;
    const simd = kind === 'wasm' ? simdKernels(backend)?.adam ?? null : null;
    if (simd !== null) {
      // Whole groups of four in the SIMD loop, in place on the heap; the rest below.
      start = wi.length - (wi.length % 4);
      simd(wi.byteOffset, mi.byteOffset, vi.byteOffset, gi.byteOffset, wo.byteOffset, mo.byteOffset, vo.byteOffset, start * 4, b1, b2, c1, c2, step, eps);
    }
    for (let i = start; i < wi.length; i++) {
      const gr = gi[i] as number;
      const m1 = f(f((mi[i] as number) * b1) + f(gr * c1));
      const v1 = f(f((vi[i] as number) * b2) + f(f(gr * gr) * c2));
      mo[i] = m1;
      vo[i] = v1;
      wo[i] = f((wi[i] as number) - f(step * f(m1 / f(f(Math.sqrt(v1)) + eps))));
    }
    return infos;
  };
}

function sgdKernel(kind: 'cpu' | 'wasm'): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { w, g, buf } = inputs as { w: TensorInfo; g: TensorInfo; buf?: TensorInfo };
    checkFloat(SGD_UPDATE, buf ? { w, g, buf } : { w, g }, w.shape);
    const a = attrs as unknown as SgdUpdateAttrs;
    const f = Math.fround;
    const lr = f(a.lr);
    const mu = f(a.momentum);
    const io = access[kind](backend);
    const { infos, views } = io.alloc(buf ? [w.shape, w.shape] : [w.shape]);
    const [wo, bo] = views() as [Float32Array, Float32Array | undefined];
    const wi = io.read(w);
    const gi = io.read(g);
    if (buf === undefined || bo === undefined) {
      for (let i = 0; i < wi.length; i++) wo[i] = f((wi[i] as number) - f((gi[i] as number) * lr));
      return infos;
    }
    const bi = io.read(buf);
    for (let i = 0; i < wi.length; i++) {
      const gr = gi[i] as number;
      const b1 = f(f((bi[i] as number) * mu) + gr);
      bo[i] = b1;
      const dir = a.nesterov ? f(gr + f(b1 * mu)) : b1;
      wo[i] = f((wi[i] as number) - f(dir * lr));
    }
    return infos;
  };
}

export const optimizerUpdateConfigs: readonly KernelConfig[] = (['cpu', 'wasm'] as const).flatMap((kind) => [
  { kernelName: ADAM_UPDATE, backendName: kind, kernelFunc: adamKernel(kind) },
  { kernelName: SGD_UPDATE, backendName: kind, kernelFunc: sgdKernel(kind) },
]);
