// Losses and per-batch metric sums, written as few TF.js ops as possible: on the WASM backend the
// per-op overhead, not the arithmetic, dominates small tensors.
import * as tf from '../tf.js';
import type { Task } from './task.js';

/**
 * Mean softmax cross-entropy of `logits` [n, k] against integer `labels` [n], with the fused gradient
 * (softmax - onehot) / n. TF.js's generic version also differentiates with respect to the labels and
 * casts them twice, which a training step pays for every batch.
 */
export function softmaxCrossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  const [n, k] = logits.shape as [number, number];
  const op = tf.customGrad(((z: tf.Tensor, save: tf.GradSaveFunc) => {
    // Made and saved inside: tensors from outside a customGrad are freed before the backward pass.
    // int32 then cast: the WASM OneHot kernel ignores dtype 'float32' and writes int32 bit patterns.
    const onehot = tf.cast(tf.oneHot(labels as tf.Tensor1D, k), 'float32');
    const lse = tf.logSumExp(z, 1, true);
    save([z, lse, onehot]);
    const value = tf.div(tf.sub(tf.sum(lse), tf.sum(tf.mul(z, onehot))), n) as tf.Scalar;
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [zs, l, oh] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
      return tf.mul(tf.sub(tf.exp(tf.sub(zs, l)), oh), tf.div(dy, n));
    };
    return { value, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad<tf.Scalar>>[0]);
  return op(logits) as tf.Scalar;
}

/** Mean squared error over every element. */
export function meanSquaredError(pred: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.mean(tf.squaredDifference(pred, tf.reshape(target, pred.shape)));
}

export function lossFor(task: Task, out: tf.Tensor, y: tf.Tensor): tf.Scalar {
  return task === 'classification' ? softmaxCrossEntropy(out, y) : meanSquaredError(out, y);
}

/**
 * The batch's metric as a sum, so batches of different sizes add up exactly:
 * classification → number of correct top-1 predictions; regression → sum of absolute errors.
 */
export function metricSum(task: Task, out: tf.Tensor, y: tf.Tensor): tf.Scalar {
  if (task === 'classification') return tf.sum(tf.cast(tf.equal(tf.argMax(out, -1), y), 'float32'));
  return tf.sum(tf.abs(tf.sub(out, tf.reshape(y, out.shape))));
}
