// Plain-data snapshots of tensors (typed array + shape), the unit of exported training state: they
// survive structured clone, JSON-with-base64 and worker messages, and carry no backend handles.
import * as tf from '../tf.js';

export interface TensorRecord {
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

export function toRecord(t: tf.Tensor): TensorRecord {
  if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new Error(`cannot snapshot a ${t.dtype} tensor`);
  // slice(): the backend may hand out a view of its own memory (WASM heap); keep a private copy.
  const data = (t.dataSync() as Float32Array | Int32Array).slice();
  return { shape: t.shape.slice(), dtype: t.dtype, data };
}

export function fromRecord(r: TensorRecord): tf.Tensor {
  return tf.tensor(r.data, r.shape, r.dtype);
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function assertRecordFits(key: string, r: TensorRecord, shape: readonly number[]): void {
  if (!sameShape(r.shape, shape)) throw new Error(`state '${key}' has shape [${r.shape}], the model expects [${shape}]`);
  const n = shape.reduce((a, b) => a * b, 1);
  if (r.data.length !== n) throw new Error(`state '${key}' holds ${r.data.length} values for shape [${r.shape}]`);
}
