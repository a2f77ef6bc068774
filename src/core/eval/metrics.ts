// Task metrics computed from model outputs (logits or regression values), batch by batch, in
// inference mode, so a test split of any size is evaluated without holding all outputs at once.
import type { LayersModel } from '@tensorflow/tfjs-layers';
import * as tf from '../tf.js';

export type Task = 'classification' | 'regression';

export interface TaskMetrics {
  samples: number;
  /** Classification: fraction of argmax(logits) equal to the label. */
  accuracy?: number;
  /** Regression. */
  mse?: number;
  mae?: number;
}

/** Any function from a batch of inputs to outputs: a TF.js model, or the integer reference. */
export type Predictor = (x: tf.Tensor) => tf.Tensor;

export const modelPredictor = (model: LayersModel): Predictor => (x) => model.predict(x) as tf.Tensor;

export function evaluatePredictor(predict: Predictor, x: tf.Tensor, y: tf.Tensor, task: Task, batchSize = 512): TaskMetrics {
  const n = x.shape[0]!;
  let correct = 0;
  let se = 0;
  let ae = 0;
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    tf.tidy(() => {
      const xb = tf.slice(x, start, size);
      const yb = tf.slice(y, start, size);
      const out = predict(xb);
      if (task === 'classification') {
        correct += tf.sum(tf.cast(tf.equal(tf.argMax(out, -1), tf.cast(tf.reshape(yb, [-1]), 'int32')), 'float32')).dataSync()[0]!;
      } else {
        const diff = tf.sub(tf.reshape(out, [-1]), tf.reshape(yb, [-1]));
        se += tf.sum(tf.square(diff)).dataSync()[0]!;
        ae += tf.sum(tf.abs(diff)).dataSync()[0]!;
      }
    });
  }
  // Regression: mean over every predicted value (samples × targets), as ONNX verification computes it.
  const values = Math.max(1, y.size);
  return task === 'classification' ? { samples: n, accuracy: correct / n } : { samples: n, mse: se / values, mae: ae / values };
}

/** Fraction of samples on which two predictors pick the same class; and their largest output gap. */
export function agreement(a: Predictor, b: Predictor, x: tf.Tensor, batchSize = 512): { agreement: number; maxAbsDiff: number } {
  const n = x.shape[0]!;
  let same = 0;
  let maxAbsDiff = 0;
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    tf.tidy(() => {
      const xb = tf.slice(x, start, size);
      const oa = a(xb);
      const ob = b(xb);
      same += tf.sum(tf.cast(tf.equal(tf.argMax(oa, -1), tf.argMax(ob, -1)), 'float32')).dataSync()[0]!;
      maxAbsDiff = Math.max(maxAbsDiff, tf.max(tf.abs(tf.sub(oa, ob))).dataSync()[0]!);
    });
  }
  return { agreement: same / n, maxAbsDiff };
}
