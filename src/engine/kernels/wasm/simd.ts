// Hot loops as WebAssembly SIMD that run on the TF.js WASM heap itself: a small module assembled here
// byte by byte and instantiated on the memory the WASM backend exports, so it reads and writes tensors
// in place. (No toolchain is needed; the bytes are checked by WebAssembly.Module, the results by the
// engine tests against the CPU backend.)
//
// adam: f32x4 add/sub/mul/div/sqrt are IEEE float32 operations, the ones the op-by-op form's kernels
// perform, in the same order: the same bits. A JavaScript loop with Math.fround after every operation
// (to get those bits) ran ≈ 4 ms per mlp update; this ≈ 0.5 ms.
// maxPoolWindow: one pooling window, four channels per step: the first strict maximum of each channel
// (the CPU backend's rule) gets the window's dy added.
// affine: (x - mean)·factor + offset per channel, for batch norm.
// addStrided: a strided float32 add (scalar), the scatter of an input gradient's columns.
// add/sub/subFrom/mul/div/divInto: a tensor with a per-channel vector (the same f32x4 operations
// XNNPACK's broadcasting kernels run, so the same bits).
// absMax: max|x| per lane position of a repeating table (weight ranges, abs-max.ts).
// dotRows16: one input channel's row of taps against 16 output channels of dy, for filter gradients
// of convolutions with few input channels.
// fqForward/fqGrad/fqRangeGrad: fake-quant and its gradients (fake-quant.ts).
// channelSum/channelDevSquareSum/bnNormalize/bnGradSums/bnGradOut: training batch norm (bn-training.ts).
//
// The bodies live in simd/ by kind; this file lists the functions and assembles the module.

import { F32, I32, name, section, u32, vec } from './simd/assembler.js';
import { bnGradOutBody, bnGradSumsBody, bnNormalizeBody, channelDevSquareSumBody, channelSumBody } from './simd/batchNorm.js';
import { affineBody, CHANNEL_OPS, type ChannelOp, channelOpBody } from './simd/channel.js';
import { absMaxBody, fqForwardBody, fqGradBody, fqRangeGradBody } from './simd/fakeQuant.js';
import { adamBody, addStridedBody, dotRows16Body, maxPoolBody } from './simd/training.js';

export { CHANNEL_OPS, type ChannelOp } from './simd/channel.js';
export { FQ_GROUP } from './simd/fakeQuant.js';

// The WebAssembly API as far as this file uses it (the project's TypeScript libs do not declare it).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Memory: abstract new (...args: never[]) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;


/** One exported function: its name, parameter types, result type (none: void) and body. */
interface SimdFunction {
  name: string;
  params: number[];
  result?: number;
  body: number[];
}

const ints = (n: number): number[] => new Array<number>(n).fill(I32);

function functions(): SimdFunction[] {
  return [
    { name: 'adam', params: [...ints(8), ...new Array<number>(6).fill(F32)], body: adamBody() },
    { name: 'maxPoolWindow', params: ints(7), body: maxPoolBody() },
    { name: 'dotRows16', params: ints(6), body: dotRows16Body() },
    { name: 'affine', params: ints(5), body: affineBody() },
    { name: 'addStrided', params: ints(5), body: addStridedBody() },
    ...CHANNEL_OPS.map(([opName, code, first]) => ({ name: opName, params: ints(5), body: channelOpBody(code, first) })),
    { name: 'fqForward', params: ints(5), result: I32, body: fqForwardBody() },
    { name: 'fqGrad', params: ints(6), body: fqGradBody() },
    { name: 'fqRangeGrad', params: ints(5), body: fqRangeGradBody() },
    { name: 'absMax', params: ints(4), body: absMaxBody() },
    { name: 'channelSum', params: ints(4), body: channelSumBody() },
    { name: 'channelDevSquareSum', params: ints(5), body: channelDevSquareSumBody() },
    { name: 'bnNormalize', params: ints(9), body: bnNormalizeBody() },
    { name: 'bnGradSums', params: ints(6), body: bnGradSumsBody() },
    { name: 'bnGradOut', params: ints(6), body: bnGradOutBody() },
  ];
}

/** The module: one type per function, the backend's memory imported as env.memory, every function exported. */
function moduleBytes(): Uint8Array {
  const fns = functions();
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(fns.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...(f.result === undefined ? [0x00] : vec([[f.result]]))]))),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x01]])), // memory, min 1 page, no max
    ...section(3, vec(fns.map((_, i) => u32(i)))),
    ...section(7, vec(fns.map((f, i) => [...name(f.name), 0x00, ...u32(i)]))),
    ...section(10, vec(fns.map((f) => f.body))),
  ]);
}

export type SimdAdam = (
  w: number, m: number, v: number, g: number, wo: number, mo: number, vo: number, bytes: number,
  b1: number, b2: number, c1: number, c2: number, step: number, eps: number,
) => void;

export type SimdMaxPoolWindow = (x: number, dxDelta: number, dy: number, rows: number, cols: number, rowBytes: number, pixelBytes: number) => void;

export type SimdDotRows16 = (x: number, xStride: number, dy: number, dyStride: number, n: number, out: number) => void;

export type SimdAffine = (x: number, out: number, params: number, pixels: number, pixelBytes: number) => void;

export type SimdAddStrided = (dst: number, dstStride: number, src: number, srcStride: number, n: number) => void;

export type SimdChannelOp = (x: number, v: number, out: number, pixels: number, pixelBytes: number) => void;

/** Returns 1 when some input was NaN or ±Inf. */
export type SimdFqForward = (x: number, out: number, bytes: number, table: number, tableEnd: number) => number;
export type SimdFqGrad = (x: number, dy: number, out: number, bytes: number, table: number, tableEnd: number) => void;
export type SimdFqRangeGrad = (x: number, dy: number, bytes: number, table: number, tableEnd: number) => void;

/** acc (16-byte aligned, accEnd - acc a multiple of 16) lane-wise max'ed with |x| over `bytes` bytes. */
export type SimdAbsMax = (x: number, bytes: number, acc: number, accEnd: number) => void;

/** acc (float64 per channel) += x per channel, over `pixels` pixels of pixelBytes (a multiple of 16). */
export type SimdChannelSum = (x: number, acc: number, pixels: number, pixelBytes: number) => void;
/** acc (float64 per channel) += f32((x - mean)²) per channel. */
export type SimdChannelDevSquareSum = (x: number, mean: number, acc: number, pixels: number, pixelBytes: number) => void;
export type SimdBnNormalize = (z: number, xhat: number, y: number, mean: number, std: number, gamma: number, beta: number, pixels: number, pixelBytes: number) => void;
export type SimdBnGradSums = (dy: number, xhat: number, accDy: number, accDyX: number, pixels: number, pixelBytes: number) => void;
export type SimdBnGradOut = (dy: number, xhat: number, dz: number, coef: number, pixels: number, pixelBytes: number) => void;

export interface SimdKernels {
  channelSum: SimdChannelSum;
  channelDevSquareSum: SimdChannelDevSquareSum;
  bnNormalize: SimdBnNormalize;
  bnGradSums: SimdBnGradSums;
  bnGradOut: SimdBnGradOut;
  absMax: SimdAbsMax;
  fqForward: SimdFqForward;
  fqGrad: SimdFqGrad;
  fqRangeGrad: SimdFqRangeGrad;
  channelOps: Record<ChannelOp, SimdChannelOp>;
  addStrided: SimdAddStrided;
  adam: SimdAdam;
  maxPoolWindow: SimdMaxPoolWindow;
  dotRows16: SimdDotRows16;
  affine: SimdAffine;
}

const instances = new WeakMap<WasmMemory, SimdKernels | null>();

/** The SIMD loops bound to `memory`, or null where this runtime cannot compile them. */
export function simdKernelsFor(memory: WasmMemory): SimdKernels | null {
  if (instances.has(memory)) return instances.get(memory) ?? null;
  let kernels: SimdKernels | null = null;
  try {
    const instance = new WA.Instance(new WA.Module(moduleBytes()), { env: { memory } });
    kernels = {
      adam: instance.exports.adam as SimdAdam,
      maxPoolWindow: instance.exports.maxPoolWindow as SimdMaxPoolWindow,
      dotRows16: instance.exports.dotRows16 as SimdDotRows16,
      affine: instance.exports.affine as SimdAffine,
      addStrided: instance.exports.addStrided as SimdAddStrided,
      fqForward: instance.exports.fqForward as SimdFqForward,
      fqGrad: instance.exports.fqGrad as SimdFqGrad,
      fqRangeGrad: instance.exports.fqRangeGrad as SimdFqRangeGrad,
      absMax: instance.exports.absMax as SimdAbsMax,
      channelSum: instance.exports.channelSum as SimdChannelSum,
      channelDevSquareSum: instance.exports.channelDevSquareSum as SimdChannelDevSquareSum,
      bnNormalize: instance.exports.bnNormalize as SimdBnNormalize,
      bnGradSums: instance.exports.bnGradSums as SimdBnGradSums,
      bnGradOut: instance.exports.bnGradOut as SimdBnGradOut,
      channelOps: Object.fromEntries(CHANNEL_OPS.map(([n]) => [n, instance.exports[n] as SimdChannelOp])) as Record<ChannelOp, SimdChannelOp>,
    };
  } catch {
    kernels = null;
  }
  instances.set(memory, kernels);
  return kernels;
}

/** The WasmMemory the WASM backend keeps its tensors in (null if it does not export it). */
export function heapMemory(backend: unknown): WasmMemory | null {
  const memory = (backend as { wasm?: { asm?: { memory?: unknown } } }).wasm?.asm?.memory;
  return memory instanceof WA.Memory ? memory : null;
}

/** The SIMD loops for a WASM backend instance, or null. */
export function simdKernels(backend: unknown): SimdKernels | null {
  const memory = heapMemory(backend);
  return memory === null ? null : simdKernelsFor(memory);
}
