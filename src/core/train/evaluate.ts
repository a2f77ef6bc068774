// Inference-mode evaluation: mean loss and the task's metric over a whole set, batch by batch,
// reading one small tensor per batch.
import * as tf from '../tf.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import { type Dataset, makeBatch, validateDataset } from './dataset.js';
import { forward } from './forward.js';
import { lossFor, metricSum } from './losses.js';
import type { Task } from './task.js';

export interface EvalResult {
  samples: number;
  /** Mean loss: cross-entropy for classification, MSE for regression. */
  loss: number;
  /** classification: top-1 accuracy in [0, 1]. */
  accuracy?: number;
  /** regression: mean squared and mean absolute error over every target value. */
  mse?: number;
  mae?: number;
}

/** Evaluate on tensors x [N, ...] and y ([N] int32 labels, or [N, targets]). */
export function evaluate(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, task: Task, batchSize = 256): EvalResult {
  const n = x.shape[0]!;
  if (y.shape[0] !== n) throw new Error(`x has ${n} samples, y has ${y.shape[0]}`);
  return accumulate(model, task, n, y.size / n, batchSize, (from, to) => ({
    x: tf.slice(x, from, to - from),
    y: tf.slice(y, from, to - from),
  }));
}

/** Evaluate on an in-memory dataset (uploaded batch by batch, so large sets need no big tensor). */
export function evaluateDataset(model: tfl.LayersModel, data: Dataset, task: Task, batchSize = 256): EvalResult {
  const n = validateDataset(data, task);
  return accumulate(model, task, n, data.y.length / n, batchSize, (from, to) => makeBatch(data, task, null, from, to));
}

function accumulate(
  model: tfl.LayersModel,
  task: Task,
  n: number,
  targetsPerSample: number,
  batchSize: number,
  batch: (from: number, to: number) => { x: tf.Tensor; y: tf.Tensor },
): EvalResult {
  if (!(batchSize >= 1)) throw new Error('batchSize must be >= 1');
  let lossSum = 0;
  let metric = 0;
  for (let from = 0; from < n; from += batchSize) {
    const to = Math.min(n, from + batchSize);
    const sums = tf.tidy(() => {
      const b = batch(from, to);
      const out = forward(model, b.x, false);
      return tf.stack([tf.mul(lossFor(task, out, b.y), to - from), metricSum(task, out, b.y)]);
    });
    const [l, m] = sums.dataSync();
    sums.dispose();
    lossSum += l!;
    metric += m!;
  }
  const loss = lossSum / n;
  if (task === 'classification') return { samples: n, loss, accuracy: metric / n };
  return { samples: n, loss, mse: loss, mae: metric / (n * targetsPerSample) };
}
