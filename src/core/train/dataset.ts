// In-memory datasets as flat typed arrays (what parsers produce and what a shard is), and batch
// assembly: the batch's rows are copied into one buffer and uploaded as a single tensor, so a step
// costs one upload for x and one for y whatever the sampling order.
import * as tf from '../tf.js';
import type { Task } from './task.js';

export interface Dataset {
  /** Samples, row-major: N × prod(sampleShape). */
  x: Float32Array;
  /** Shape of one sample, e.g. [28, 28, 1] or [4]. */
  sampleShape: number[];
  /** classification: N integer labels (Int32Array); regression: N × targets values (Float32Array). */
  y: Int32Array | Float32Array;
}

export function sampleSize(d: Dataset): number {
  return d.sampleShape.reduce((a, b) => a * b, 1);
}

export function datasetLength(d: Dataset): number {
  return d.x.length / sampleSize(d);
}

/** Checks the arrays agree with each other and with the task; returns N. */
export function validateDataset(d: Dataset, task: Task): number {
  const size = sampleSize(d);
  if (!(size > 0) || d.x.length % size !== 0) throw new Error(`x holds ${d.x.length} values, not a multiple of the sample size ${size}`);
  const n = d.x.length / size;
  if (n === 0) throw new Error('dataset is empty');
  if (task === 'classification') {
    if (!(d.y instanceof Int32Array)) throw new Error('classification labels must be an Int32Array');
    if (d.y.length !== n) throw new Error(`${n} samples but ${d.y.length} labels`);
  } else if (d.y.length === 0 || d.y.length % n !== 0) {
    throw new Error(`${n} samples but ${d.y.length} targets (not a multiple)`);
  }
  return n;
}

/** The batch made of rows order[from..to) as tensors: x [B, ...sampleShape], y [B] int32 or [B, targets]. */
export function makeBatch(d: Dataset, task: Task, order: Int32Array | null, from: number, to: number): { x: tf.Tensor; y: tf.Tensor } {
  const size = sampleSize(d);
  const b = to - from;
  const xs = new Float32Array(b * size);
  const perY = d.y.length / datasetLength(d);
  const ys = task === 'classification' ? new Int32Array(b) : new Float32Array(b * perY);
  for (let j = 0; j < b; j++) {
    const i = order == null ? from + j : order[from + j]!;
    xs.set(d.x.subarray(i * size, (i + 1) * size), j * size);
    ys.set(d.y.subarray(i * perY, (i + 1) * perY), j * perY);
  }
  const x = tf.tensor(xs, [b, ...d.sampleShape], 'float32');
  const y = task === 'classification' ? tf.tensor1d(ys as Int32Array, 'int32') : tf.tensor2d(ys as Float32Array, [b, perY], 'float32');
  return { x, y };
}
