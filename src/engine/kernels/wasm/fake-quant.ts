import { util, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  channelLayout,
  FAKE_QUANT,
  FAKE_QUANT_GRAD,
  FAKE_QUANT_RANGE_GRAD,
  type ChannelLayout,
  type FakeQuantKernelAttrs,
  forwardSpan,
  inputGradSpan,
  nonFiniteError,
  nudgeAll,
  type NudgedRange,
  rangeGradSpan,
} from './fake-quant-math.js';
import { FQ_GROUP, simdKernels, type SimdKernels } from './simd.js';

/**
 * The fake-quant kernels of src/core/quant/fakeQuantKernels.ts for the WASM backend, as one SIMD pass
 * over the heap (simd.ts: fqForward, fqGrad, fqRangeGrad) instead of a JavaScript loop (≈ 5.5 ns per
 * element, the main cost of a QAT step). Forward and input gradient give the same float32 bits as
 * core's fakeQuantMath; the range gradients are float64 sums in another order (equal up to rounding).
 *
 * Per-lane parameters come from a table that repeats with the layout's period: the channel of flat
 * index i is floor(i / inner) % channels, which repeats every channels·inner elements, so a table of
 * lcm(channels·inner, 4) entries serves the whole tensor in one call (per-tensor: one group of four).
 * Longer periods (large inner) run one call per block of `inner` elements with that channel's group.
 * Elements past the last multiple of four in a call run the scalar reference (fake-quant-math.ts).
 */
const MAX_PERIOD = 4096;

interface Span {
  /** First element and count (a multiple of 4) of a SIMD call, and its table groups [first, end). */
  start: number;
  count: number;
  group: number;
  groupEnd: number;
}

interface Plan {
  /** Channel of each table group's four lanes. */
  laneChannels: Int32Array;
  spans: Span[];
  /** Element ranges [from, to) for the scalar loop. */
  tails: Array<[number, number]>;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

function plan(n: number, layout: ChannelLayout): Plan {
  const { channels, inner } = layout;
  const q = channels === 1 ? 1 : channels * inner;
  const period = (q * 4) / gcd(q, 4);
  if (period <= MAX_PERIOD) {
    const laneChannels = new Int32Array(period);
    if (channels > 1) for (let p = 0; p < period; p++) laneChannels[p] = Math.floor(p / inner) % channels;
    const count = n - (n % 4);
    return { laneChannels, spans: [{ start: 0, count, group: 0, groupEnd: period / 4 }], tails: count < n ? [[count, n]] : [] };
  }
  const laneChannels = new Int32Array(channels * 4);
  for (let p = 0; p < laneChannels.length; p++) laneChannels[p] = p >> 2;
  const spans: Span[] = [];
  const tails: Array<[number, number]> = [];
  const count = inner - (inner % 4);
  for (let b = 0, start = 0; start < n; b++, start += inner) {
    const c = b % channels;
    if (count > 0) spans.push({ start, count, group: c, groupEnd: c + 1 });
    if (count < inner) tails.push([start + count, start + inner]);
  }
  return { laneChannels, spans, tails };
}

/** A heap scratch buffer holding the parameter table; dispose() frees it. */
interface Table {
  /** Byte address of group 0 (16-byte aligned). */
  at: number;
  dispose(): void;
}

function allocTable(backend: BackendWasm, groups: number): Table {
  const info = backend.makeOutput([(groups * FQ_GROUP) / 4 + 4], 'float32');
  const at = backend.typedArrayFromHeap(info).byteOffset;
  return { at: (at + 15) & ~15, dispose: () => backend.disposeData(info.dataId) };
}

/** Fills the table (after every allocation: a growing heap replaces its buffer). */
function fillTable(buffer: ArrayBuffer, at: number, laneChannels: Int32Array, ranges: NudgedRange[]): void {
  const f32 = new Float32Array(buffer, at, (laneChannels.length / 4) * (FQ_GROUP / 4));
  const f64 = new Float64Array(buffer, at, (laneChannels.length / 4) * (FQ_GROUP / 8));
  for (let p = 0; p < laneChannels.length; p++) {
    const r = ranges[laneChannels[p]!]!;
    const g = p >> 2;
    const k = p & 3;
    const w = (g * FQ_GROUP) / 4 + k; // float32 index of byte offset 4k in the group
    const d = (g * FQ_GROUP) / 8 + k; // float64 index of byte offset 8k in the group
    const degenerate = r.scale === 0;
    f32[w] = r.nudgedMin;
    f32[w + 4] = r.nudgedMax;
    f64[d + 4] = r.nudgedMin;
    f64[d + 8] = degenerate ? 1 : r.scale;
    f64[d + 12] = r.scale;
    f64[d + 16] = degenerate ? 0 : r.qmin - r.zeroPoint;
    f64[d + 20] = 0;
    f64[d + 24] = 0;
  }
}

function heapBuffer(backend: BackendWasm, t: TensorInfo): ArrayBuffer {
  return backend.typedArrayFromHeap(t).buffer as ArrayBuffer;
}

interface Prepared {
  backend: BackendWasm;
  a: FakeQuantKernelAttrs;
  ranges: NudgedRange[];
  x: TensorInfo;
  n: number;
  simd: SimdKernels | null;
}

function prepare(inputs: Record<string, TensorInfo>, backend: unknown, attrs: NamedAttrMap): Prepared {
  const b = backend as BackendWasm;
  const a = attrs as unknown as FakeQuantKernelAttrs;
  const { x, min, max } = inputs as { x: TensorInfo; min: TensorInfo; max: TensorInfo };
  const ranges = nudgeAll(b.typedArrayFromHeap(min) as Float32Array, b.typedArrayFromHeap(max) as Float32Array, a, a.label);
  return { backend: b, a, ranges, x, n: util.sizeFromShape(x.shape), simd: simdKernels(b) };
}

const forward: KernelFunc = ({ inputs, backend, attrs }) => {
  const { backend: b, a, ranges, x, n, simd } = prepare(inputs as Record<string, TensorInfo>, backend, attrs ?? {});
  const out = b.makeOutput(x.shape, 'float32');
  if (n === 0) return out;
  let table: Table | null = null;
  try {
    const layout = channelLayout(x.shape, ranges.length, a.axis);
    let bad = false;
    if (simd === null) {
      bad = forwardSpan(b.typedArrayFromHeap(x) as Float32Array, b.typedArrayFromHeap(out) as Float32Array, ranges, layout, 0, n);
    } else {
      const p = plan(n, layout);
      table = allocTable(b, p.laneChannels.length / 4);
      fillTable(heapBuffer(b, out), table.at, p.laneChannels, ranges);
      const xAt = b.typedArrayFromHeap(x).byteOffset;
      const outAt = b.typedArrayFromHeap(out).byteOffset;
      for (const s of p.spans) {
        const flag = simd.fqForward(xAt + 4 * s.start, outAt + 4 * s.start, 4 * s.count, table.at + s.group * FQ_GROUP, table.at + s.groupEnd * FQ_GROUP);
        if (flag !== 0) bad = true;
      }
      if (p.tails.length > 0) {
        const xs = b.typedArrayFromHeap(x) as Float32Array;
        const ys = b.typedArrayFromHeap(out) as Float32Array;
        for (const [from, to] of p.tails) if (forwardSpan(xs, ys, ranges, layout, from, to)) bad = true;
      }
    }
    // The first offending index, with core's message.
    if (bad) throw nonFiniteError(b.typedArrayFromHeap(x) as Float32Array, a.label);
  } catch (err) {
    // A refused input must not leak the output already allocated.
    b.disposeData(out.dataId);
    throw err;
  } finally {
    table?.dispose();
  }
  return out;
};

const inputGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const { backend: b, a, ranges, x, n, simd } = prepare(inputs as Record<string, TensorInfo>, backend, attrs ?? {});
  const dy = (inputs as { dy: TensorInfo }).dy;
  const layout = channelLayout(x.shape, ranges.length, a.axis);
  const dx = b.makeOutput(x.shape, 'float32');
  if (n === 0) return dx;
  if (simd === null) {
    inputGradSpan(b.typedArrayFromHeap(dy) as Float32Array, b.typedArrayFromHeap(x) as Float32Array, b.typedArrayFromHeap(dx) as Float32Array, ranges, layout, 0, n);
    return dx;
  }
  const p = plan(n, layout);
  const table = allocTable(b, p.laneChannels.length / 4);
  try {
    fillTable(heapBuffer(b, dx), table.at, p.laneChannels, ranges);
    const xAt = b.typedArrayFromHeap(x).byteOffset;
    const dyAt = b.typedArrayFromHeap(dy).byteOffset;
    const dxAt = b.typedArrayFromHeap(dx).byteOffset;
    for (const s of p.spans) {
      simd.fqGrad(xAt + 4 * s.start, dyAt + 4 * s.start, dxAt + 4 * s.start, 4 * s.count, table.at + s.group * FQ_GROUP, table.at + s.groupEnd * FQ_GROUP);
    }
    if (p.tails.length > 0) {
      const [dys, xs, dxs] = [dy, x, dx].map((t) => b.typedArrayFromHeap(t) as Float32Array) as [Float32Array, Float32Array, Float32Array];
      for (const [from, to] of p.tails) inputGradSpan(dys, xs, dxs, ranges, layout, from, to);
    }
  } finally {
    table.dispose();
  }
  return dx;
};

const rangeGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const { backend: b, a, ranges, x, n, simd } = prepare(inputs as Record<string, TensorInfo>, backend, attrs ?? {});
  const { dy, min, max } = inputs as { dy: TensorInfo; min: TensorInfo; max: TensorInfo };
  const layout = channelLayout(x.shape, ranges.length, a.axis);
  const accMin = new Float64Array(layout.channels);
  const accMax = new Float64Array(layout.channels);
  const dmin = b.makeOutput(min.shape, 'float32');
  const dmax = b.makeOutput(max.shape, 'float32');
  const p = simd !== null && n > 0 ? plan(n, layout) : null;
  const table = p !== null ? allocTable(b, p.laneChannels.length / 4) : null;
  try {
    if (p === null || table === null || simd === null) {
      if (n > 0) rangeGradSpan(b.typedArrayFromHeap(dy) as Float32Array, b.typedArrayFromHeap(x) as Float32Array, ranges, layout, 0, n, accMin, accMax);
    } else {
      fillTable(heapBuffer(b, dmin), table.at, p.laneChannels, ranges);
      const xAt = b.typedArrayFromHeap(x).byteOffset;
      const dyAt = b.typedArrayFromHeap(dy).byteOffset;
      for (const s of p.spans) {
        simd.fqRangeGrad(xAt + 4 * s.start, dyAt + 4 * s.start, 4 * s.count, table.at + s.group * FQ_GROUP, table.at + s.groupEnd * FQ_GROUP);
      }
      const f64 = new Float64Array(heapBuffer(b, dmin), table.at, (p.laneChannels.length / 4) * (FQ_GROUP / 8));
      for (let q = 0; q < p.laneChannels.length; q++) {
        const c = p.laneChannels[q]!;
        const d = ((q >> 2) * FQ_GROUP) / 8 + (q & 3);
        accMin[c] = accMin[c]! + f64[d + 20]!;
        accMax[c] = accMax[c]! + f64[d + 24]!;
      }
      if (p.tails.length > 0) {
        const dys = b.typedArrayFromHeap(dy) as Float32Array;
        const xs = b.typedArrayFromHeap(x) as Float32Array;
        for (const [from, to] of p.tails) rangeGradSpan(dys, xs, ranges, layout, from, to, accMin, accMax);
      }
    }
    (b.typedArrayFromHeap(dmin) as Float32Array).set(accMin);
    (b.typedArrayFromHeap(dmax) as Float32Array).set(accMax);
  } finally {
    table?.dispose();
  }
  return [dmin, dmax];
};

/** The three kernels for 'wasm'; registerProjectKernels() puts them over core's JavaScript ones. */
export const fakeQuantConfigs: readonly KernelConfig[] = [
  { kernelName: FAKE_QUANT, backendName: 'wasm', kernelFunc: forward },
  { kernelName: FAKE_QUANT_GRAD, backendName: 'wasm', kernelFunc: inputGrad },
  { kernelName: FAKE_QUANT_RANGE_GRAD, backendName: 'wasm', kernelFunc: rangeGrad },
];
