import { engine, type Tensor } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * tf.slice for tensors on the WASM backend, copying only the slice. WASM's own Slice kernel first
 * reads the whole source out of the heap (readSync) whatever the slice's size, so cutting a 5×5
 * tile from a feature-map-sized tensor cost as much as copying all of it (seen: 8 ms a slice).
 * Here each contiguous run of the slice is one TypedArray.set between heap views.
 */
export function heapSlice<T extends Tensor>(t: T, begin: readonly number[], size: readonly number[]): T {
  const backend = engine().backend as BackendWasm;
  const out = backend.makeOutput([...size], t.dtype);
  // Views only after the allocation, which may grow (and so detach) the heap.
  const source = backend.typedArrayFromHeap(t);
  const target = backend.typedArrayFromHeap(out);
  const rank = t.shape.length;
  const strides = new Array<number>(rank).fill(1);
  for (let k = rank - 2; k >= 0; k--) strides[k] = (strides[k + 1] as number) * (t.shape[k + 1] as number);
  // The trailing axes the slice takes whole join the run of the first axis it cuts.
  let cut = rank - 1;
  while (cut > 0 && size[cut] === t.shape[cut]) cut--;
  const run = (size[cut] as number) * (strides[cut] as number);
  const outer = size.slice(0, cut).reduce((a, b) => a * b, 1);
  const index = new Array<number>(cut).fill(0);
  let written = 0;
  for (let n = 0; n < outer; n++) {
    let offset = (begin[cut] as number) * (strides[cut] as number);
    for (let k = 0; k < cut; k++) offset += ((begin[k] as number) + (index[k] as number)) * (strides[k] as number);
    target.set(source.subarray(offset, offset + run), written);
    written += run;
    for (let k = cut - 1; k >= 0; k--) {
      index[k] = (index[k] as number) + 1;
      if ((index[k] as number) < (size[k] as number)) break;
      index[k] = 0;
    }
  }
  return engine().makeTensorFromTensorInfo(out, backend) as T;
}
