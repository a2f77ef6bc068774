// A Dataset (flat typed arrays) as the tensors evaluation wants, and calibration batches from its start.
import * as tf from '../tf.js';
import { type Dataset, datasetLength } from '../train/dataset.js';
import type { Task } from '../train/task.js';

export function datasetTensors(d: Dataset, task: Task): { x: tf.Tensor; y: tf.Tensor } {
  const n = datasetLength(d);
  const x = tf.tensor(d.x, [n, ...d.sampleShape]);
  const y = task === 'classification' ? tf.tensor1d(d.y as Int32Array, 'int32') : tf.tensor(d.y, [n, d.y.length / n]);
  return { x, y };
}

/** The first `samples` rows in batches: calibration uses training data only, never the test split. */
export function* calibrationBatches(d: Dataset, samples: number, batchSize: number): Generator<tf.Tensor> {
  const size = d.sampleShape.reduce((a, b) => a * b, 1);
  const n = Math.min(samples, datasetLength(d));
  for (let start = 0; start < n; start += batchSize) {
    const rows = Math.min(batchSize, n - start);
    const batch = tf.tensor(d.x.subarray(start * size, (start + rows) * size), [rows, ...d.sampleShape]);
    try {
      yield batch;
    } finally {
      batch.dispose(); // also when the consumer stops early or throws
    }
  }
}
