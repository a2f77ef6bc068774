// A typed n-dimensional array as binary formats (IDX, NPY) hold it, and its conversion to a Dataset.
import type { Dataset } from '../core/train/dataset.js';
import type { Task } from '../core/train/task.js';
import { DatasetError, resolveLimits, type DataLimits } from './errors.js';
import type { ParsedDataset } from './types.js';

export type DType = 'uint8' | 'int8' | 'int16' | 'int32' | 'int64' | 'float32' | 'float64';

export interface NdArray {
  dtype: DType;
  shape: number[];
  /** The values in C order. int64 values are converted to numbers (exact up to 2^53). */
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

export function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export interface ArraysToDatasetOptions {
  task?: Task;
  /** Divide uint8 features by 255 (default true: image bytes become [0, 1]). */
  scaleUint8?: boolean;
  limits?: DataLimits;
  /** Names of x and y in error fields. */
  xName?: string;
  yName?: string;
}

/**
 * x [N, ...sample] and y [N] (or [N, targets] for regression) as a Dataset. Integer y means
 * classification unless `task` says otherwise; float y means regression.
 */
export function arraysToDataset(x: NdArray, y: NdArray, opts: ArraysToDatasetOptions = {}): ParsedDataset {
  const limits = resolveLimits(opts.limits);
  const xName = opts.xName ?? 'x';
  const yName = opts.yName ?? 'y';
  if (x.shape.length < 2) throw new DatasetError(xName, `has shape [${x.shape.join(', ')}]: expected [samples, ...features]`);
  const n = x.shape[0]!;
  if (n === 0) throw new DatasetError(xName, 'has no samples');
  if (y.shape.length < 1 || y.shape[0] !== n) {
    throw new DatasetError(yName, `has shape [${y.shape.join(', ')}] but ${xName} has ${n} samples: x and y lengths differ`);
  }
  if (n > limits.maxSamples) throw new DatasetError(xName, `has ${n} samples, more than the limit of ${limits.maxSamples}`);
  const sampleShape = x.shape.slice(1);
  const features = elementCount(sampleShape);
  if (features > limits.maxFeatures) throw new DatasetError(xName, `has ${features} features per sample, more than the limit of ${limits.maxFeatures}`);
  const xs = new Float32Array(x.data.length);
  const scale = x.dtype === 'uint8' && opts.scaleUint8 !== false ? 1 / 255 : 1;
  for (let i = 0; i < xs.length; i++) {
    const v = x.data[i]! * scale;
    const f = Math.fround(v);
    if (!Number.isFinite(f)) {
      const s = Math.floor(i / features);
      throw new DatasetError(`${xName}[${s}]`, `feature ${i - s * features} is ${Number.isNaN(v) ? 'NaN' : 'infinite (or beyond float32)'}: NaN/Inf are not allowed in features`, { row: s + 1 });
    }
    xs[i] = scale === 1 ? f : x.data[i]! / 255;
  }
  const integer = y.dtype !== 'float32' && y.dtype !== 'float64';
  const task = opts.task ?? (integer && y.shape.length === 1 ? 'classification' : 'regression');
  const dataset: Dataset = { x: xs, sampleShape, y: new Int32Array(0) };
  if (task === 'regression') {
    const ys = new Float32Array(y.data.length);
    for (let i = 0; i < ys.length; i++) {
      ys[i] = y.data[i]!;
      if (!Number.isFinite(ys[i]!)) throw new DatasetError(`${yName}[${Math.floor(i / (ys.length / n))}]`, 'is NaN or infinite: targets must be finite');
    }
    dataset.y = ys;
    return { dataset, task };
  }
  if (y.shape.length !== 1) throw new DatasetError(yName, `has shape [${y.shape.join(', ')}]: classification labels must be one integer per sample`);
  const ys = new Int32Array(n);
  let max = -1;
  for (let i = 0; i < n; i++) {
    const v = y.data[i]!;
    if (!Number.isInteger(v) || v < 0) throw new DatasetError(`${yName}[${i}]`, `label ${v} is not a class index (a non-negative integer)`, { row: i + 1 });
    if (v >= limits.maxClasses) throw new DatasetError(`${yName}[${i}]`, `label ${v} needs more than the limit of ${limits.maxClasses} classes`, { row: i + 1 });
    ys[i] = v;
    if (v > max) max = v;
  }
  dataset.y = ys;
  return { dataset, task, classNames: Array.from({ length: max + 1 }, (_, k) => String(k)) };
}
