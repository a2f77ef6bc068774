import { util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { simdKernels } from './simd.js';

/** Kernel name and attributes as src/core/quant/observerKernels.ts registers them (QatAbsMax). */
export const ABS_MAX = 'QatAbsMax';
export interface AbsMaxKernelAttrs {
  /** Channel axis of x (normalised); -1 for per-tensor (a scalar result). */
  axis: number;
}

/** Longest lane table (floats) the SIMD pass uses; longer channel periods run core's scalar rule here. */
const MAX_PERIOD = 4096;
const MIN_PERIOD = 64;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * The reference rule (core's batchRange in src/core/quant/observerKernels.ts, symmetric; the engine may
 * not import core): flat order, |x| replaces the running max when NaN or strictly larger. Writes
 * channel c's max|x| into out[c]. x is non-empty.
 */
export function absMaxReference(x: Float32Array, channels: number, inner: number, out: Float32Array): void {
  const his = new Float64Array(channels);
  for (let c = 0; c < channels; c++) his[c] = Math.abs(x[c * inner]!);
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const a = Math.abs(x[i]!);
    if (a > his[c]! || a !== a) his[c] = a;
  }
  out.set(his);
}

/**
 * max|x| per tensor or per channel for the WASM backend as one SIMD pass (simd.ts absMax) over the
 * heap, instead of core's JavaScript loop. Lane position p of a table of k·lcm(channels·inner, 4) floats
 * holds the max over the elements at flat index ≡ p (mod the table's length), all of one channel
 * (floor(p / inner) % channels); the lanes of a channel then combine by the reference rule. |x| has no
 * -0 and f32x4.max propagates NaN, so the result is the reference's: max|x|, NaN if any x is NaN.
 */
const absMax: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as BackendWasm;
  const { x } = inputs as { x: TensorInfo };
  const a = attrs as unknown as AbsMaxKernelAttrs;
  if (a.axis >= x.shape.length) throw new RangeError(`QatAbsMax: axis ${a.axis} is out of range for shape [${x.shape}]`);
  const n = util.sizeFromShape(x.shape);
  const shape = a.axis < 0 ? [] : [x.shape[a.axis]!];
  const channels = shape[0] ?? 1;
  const inner = a.axis < 0 ? Math.max(1, n) : util.sizeFromShape(x.shape.slice(a.axis + 1));
  const out = b.makeOutput(shape, 'float32');
  const q = channels === 1 ? 1 : channels * inner;
  // A multiple of the lane period, at least 64 floats: the loop's read-modify-write of the table
  // must not hit the address it just stored (a 4-float table ran slower than TF.js's ops).
  const base = (q * 4) / gcd(q, 4);
  const period = base * Math.ceil(MIN_PERIOD / base);
  const simd = simdKernels(b);
  if (n === 0) return out;
  if (simd === null || period > MAX_PERIOD || n < period) {
    absMaxReference(b.typedArrayFromHeap(x) as Float32Array, channels, inner, b.typedArrayFromHeap(out) as Float32Array);
    return out;
  }
  // 16-byte aligned table of `period` zeros (|x| >= +0, so 0 is neutral).
  const table = b.makeOutput([period + 4], 'float32');
  try {
    const tableView = b.typedArrayFromHeap(table) as Float32Array;
    const at = (tableView.byteOffset + 15) & ~15;
    const acc = new Float32Array(tableView.buffer, at, period);
    acc.fill(0);
    const count = n - (n % 4);
    simd.absMax(b.typedArrayFromHeap(x).byteOffset, 4 * count, at, at + 4 * period);
    // After the call (no allocation since): views on the current heap.
    const xs = b.typedArrayFromHeap(x) as Float32Array;
    const lanes = new Float32Array(b.typedArrayFromHeap(table).buffer as ArrayBuffer, at, period).slice();
    for (let i = count; i < n; i++) {
      const p = i % period;
      const v = Math.abs(xs[i]!);
      if (v > lanes[p]! || v !== v) lanes[p] = v;
    }
    const result = new Float64Array(channels).fill(-1);
    for (let p = 0; p < period; p++) {
      const c = channels === 1 ? 0 : Math.floor(p / inner) % channels;
      const v = lanes[p]!;
      if (v > result[c]! || v !== v) result[c] = v;
    }
    (b.typedArrayFromHeap(out) as Float32Array).set(result);
  } finally {
    b.disposeData(table.dataId);
  }
  return out;
};

/** QatAbsMax for 'wasm'; registerProjectKernels() puts it over core's JavaScript one. */
export const absMaxConfig: KernelConfig = { kernelName: ABS_MAX, backendName: 'wasm', kernelFunc: absMax };
