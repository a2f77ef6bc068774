import {
  UnsortedSegmentSum,
  util,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  type UnsortedSegmentSumAttrs,
  type UnsortedSegmentSumInputs,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * WASM has no UnsortedSegmentSum, which the gradient of gather (embeddings) needs. A scatter-add is
 * one pass over the rows of x, so a single loop over the heap arrays is already the best schedule;
 * the CPU backend's version makes a masked copy of x per segment instead.
 */
const unsortedSegmentSum: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as BackendWasm;
  const { x, segmentIds } = inputs as UnsortedSegmentSumInputs;
  const { numSegments } = attrs as unknown as UnsortedSegmentSumAttrs;
  const xInfo = x as TensorInfo;
  const idsInfo = segmentIds as TensorInfo;
  const innerShape = xInfo.shape.slice(idsInfo.shape.length);
  const inner = util.sizeFromShape(innerShape);
  const rows = util.sizeFromShape(idsInfo.shape);
  const out = wasm.makeOutput([numSegments, ...innerShape], xInfo.dtype);
  // Views are taken only now: allocating the output may grow the heap and detach older views.
  const values = wasm.typedArrayFromHeap(xInfo);
  const ids = wasm.typedArrayFromHeap(idsInfo);
  const sums = wasm.typedArrayFromHeap(out);
  sums.fill(0);
  for (let row = 0; row < rows; row++) {
    const id = ids[row] as number;
    // Out-of-range ids are dropped, as TensorFlow does on CPU.
    if (id < 0 || id >= numSegments) continue;
    const from = row * inner;
    const to = id * inner;
    for (let k = 0; k < inner; k++) sums[to + k] = (sums[to + k] as number) + (values[from + k] as number);
  }
  return out;
};

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum,
};
