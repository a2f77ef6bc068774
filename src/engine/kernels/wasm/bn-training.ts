import { util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { simdKernels } from './simd.js';

// The names src/core/qat/layers/batchNormTraining.ts runs (the engine and core may not import each
// other; tests/engine/bn-training.test.ts checks the two agree).
export const BN_TRAIN = 'QatBatchNormTrain';
export const BN_TRAIN_GRAD = 'QatBatchNormTrainGrad';

/**
 * Training-mode batch norm over all axes but the last, forward and gradient, as a few passes over the
 * WASM heap instead of core's chain of ~15 TF.js ops (each a pass and an allocation). The float32
 * operations are the chain's, in its order, and the per-channel sums are float64 down the rows as this
 * engine's leading-axes Sum/Mean (reduce-leading.ts) take them: the same bits as the chain here.
 *
 * Forward: inputs z [..., C], gamma [C], beta [C]; attr epsilon → y, mean [C], variance [C],
 * xhat = (z − mean) / std, std = sqrt(variance + ε) [C].
 * Gradient: inputs dy, xhat, std, gamma → dz, dgamma = Σ dy·xhat, dbeta = Σ dy, with
 * dz = ((dy − Σdy/n) − xhat·(Σdy·xhat/n)) · (gamma / std).
 * Channel counts that are a multiple of 4 run SIMD passes (simd.ts), others the loops below.
 */
const f32 = Math.fround;

type Args = Parameters<KernelFunc>[0];

function layoutOf(z: TensorInfo): { rows: number; channels: number; size: number } {
  const channels = z.shape[z.shape.length - 1] as number;
  const size = util.sizeFromShape(z.shape);
  return { rows: size / channels, channels, size };
}

/** Views are taken after the last allocation: one may grow the heap and detach earlier views. */
const view = (backend: BackendWasm, t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;

/** Float64 accumulators on the heap (the SIMD loops add into them), zeroed; `release` frees them. */
function accumulators(backend: BackendWasm, count: number) {
  const table = backend.makeOutput([count * 2], 'float32');
  const at = () => view(backend, table).byteOffset;
  const sums = () => new Float64Array(view(backend, table).buffer, at(), count);
  sums().fill(0);
  return { at, sums, release: () => backend.disposeData(table.dataId) };
}

/** Σ_rows z and Σ_rows f32((z − mean)²) per channel; writes mean = f32(Σz / rows). */
function moments(backend: BackendWasm, z: TensorInfo, mean: TensorInfo): Float64Array {
  const { rows, channels } = layoutOf(z);
  const simd = channels % 4 === 0 ? simdKernels(backend) : null;
  if (simd !== null) {
    const acc = accumulators(backend, channels);
    try {
      simd.channelSum(view(backend, z).byteOffset, acc.at(), rows, channels * 4);
      view(backend, mean).set(Float32Array.from(acc.sums(), (s) => s / rows));
      acc.sums().fill(0);
      simd.channelDevSquareSum(view(backend, z).byteOffset, view(backend, mean).byteOffset, acc.at(), rows, channels * 4);
      return Float64Array.from(acc.sums());
    } finally {
      acc.release();
    }
  }
  const zv = view(backend, z);
  const m = view(backend, mean);
  const sums = new Float64Array(channels);
  for (let i = 0; i < zv.length; ) for (let c = 0; c < channels; c++, i++) sums[c]! += zv[i]!;
  for (let c = 0; c < channels; c++) m[c] = sums[c]! / rows;
  sums.fill(0);
  for (let i = 0; i < zv.length; ) {
    for (let c = 0; c < channels; c++, i++) {
      const d = f32(zv[i]! - m[c]!);
      sums[c]! += f32(d * d);
    }
  }
  return sums;
}

function forward(args: Args): TensorInfo[] {
  const { z, gamma, beta } = args.inputs as { z: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
  const epsilon = f32((args.attrs as { epsilon: number }).epsilon);
  const backend = args.backend as BackendWasm;
  const { rows, channels } = layoutOf(z);
  const y = backend.makeOutput(z.shape, 'float32');
  const xhat = backend.makeOutput(z.shape, 'float32');
  const [mean, variance, std] = [0, 1, 2].map(() => backend.makeOutput([channels], 'float32')) as [TensorInfo, TensorInfo, TensorInfo];
  const squares = moments(backend, z, mean);
  const v = view(backend, variance);
  const s = view(backend, std);
  for (let c = 0; c < channels; c++) {
    v[c] = squares[c]! / rows;
    s[c] = f32(Math.sqrt(f32(v[c]! + epsilon)));
  }
  const simd = channels % 4 === 0 ? simdKernels(backend) : null;
  const [zv, xv, yv, m, g, b] = [z, xhat, y, mean, gamma, beta].map((t) => view(backend, t)) as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
  if (simd !== null) {
    simd.bnNormalize(zv.byteOffset, xv.byteOffset, yv.byteOffset, m.byteOffset, s.byteOffset, g.byteOffset, b.byteOffset, rows, channels * 4);
  } else {
    for (let i = 0; i < zv.length; ) {
      for (let c = 0; c < channels; c++, i++) {
        const xh = f32(f32(zv[i]! - m[c]!) / s[c]!);
        xv[i] = xh;
        yv[i] = f32(f32(xh * g[c]!) + b[c]!);
      }
    }
  }
  return [y, mean, variance, xhat, std];
}

/** Σ_rows dy and Σ_rows f32(dy·xhat) per channel. */
function gradientSums(backend: BackendWasm, dy: TensorInfo, xhat: TensorInfo): [Float64Array, Float64Array] {
  const { rows, channels } = layoutOf(xhat);
  const simd = channels % 4 === 0 ? simdKernels(backend) : null;
  if (simd !== null) {
    const acc = accumulators(backend, 2 * channels);
    try {
      simd.bnGradSums(view(backend, dy).byteOffset, view(backend, xhat).byteOffset, acc.at(), acc.at() + channels * 8, rows, channels * 4);
      const sums = Float64Array.from(acc.sums());
      return [sums.subarray(0, channels), sums.subarray(channels)];
    } finally {
      acc.release();
    }
  }
  const d = view(backend, dy);
  const x = view(backend, xhat);
  const sumDy = new Float64Array(channels);
  const sumDyX = new Float64Array(channels);
  for (let i = 0; i < d.length; ) {
    for (let c = 0; c < channels; c++, i++) {
      sumDy[c]! += d[i]!;
      sumDyX[c]! += f32(d[i]! * x[i]!);
    }
  }
  return [sumDy, sumDyX];
}

function gradient(args: Args): TensorInfo[] {
  const { dy, xhat, std, gamma } = args.inputs as { dy: TensorInfo; xhat: TensorInfo; std: TensorInfo; gamma: TensorInfo };
  const backend = args.backend as BackendWasm;
  const { rows, channels } = layoutOf(xhat);
  const dz = backend.makeOutput(xhat.shape, 'float32');
  const [dgamma, dbeta, coef] = [channels, channels, 3 * channels].map((n) => backend.makeOutput([n], 'float32')) as [TensorInfo, TensorInfo, TensorInfo];
  const [sumDy, sumDyX] = gradientSums(backend, dy, xhat);
  const db = view(backend, dbeta);
  const dg = view(backend, dgamma);
  db.set(sumDy);
  dg.set(sumDyX);
  // a = Σdy/n, b = Σdy·xhat/n, k = gamma/std: float32 divisions (n as float32), as the chain's.
  const n = f32(rows);
  const [k, g, s] = [coef, gamma, std].map((t) => view(backend, t)) as [Float32Array, Float32Array, Float32Array];
  for (let c = 0; c < channels; c++) {
    k[c] = f32(db[c]! / n);
    k[channels + c] = f32(dg[c]! / n);
    k[2 * channels + c] = f32(g[c]! / s[c]!);
  }
  const simd = channels % 4 === 0 ? simdKernels(backend) : null;
  const [d, x, out] = [dy, xhat, dz].map((t) => view(backend, t)) as [Float32Array, Float32Array, Float32Array];
  if (simd !== null) {
    simd.bnGradOut(d.byteOffset, x.byteOffset, out.byteOffset, k.byteOffset, rows, channels * 4);
  } else {
    for (let i = 0; i < d.length; ) {
      for (let c = 0; c < channels; c++, i++) out[i] = f32(f32(f32(d[i]! - k[c]!) - f32(x[i]! * k[channels + c]!)) * k[2 * channels + c]!);
    }
  }
  backend.disposeData(coef.dataId);
  return [dz, dgamma, dbeta];
}

export const bnTrainingConfigs: readonly KernelConfig[] = [
  { kernelName: BN_TRAIN, backendName: 'wasm', kernelFunc: forward as unknown as KernelFunc },
  { kernelName: BN_TRAIN_GRAD, backendName: 'wasm', kernelFunc: gradient as unknown as KernelFunc },
];
