// Training-mode batch normalisation with its closed-form gradient. The forward is TF.js's own ops
// (same values and statistics as before); autodiff through tf.moments and four broadcasting ops cost
// ~30 ms of a 130 ms cnn QAT step on WASM, the closed form a few reductions. A backend may run both
// directions as two fused kernels (the WASM engine does: src/engine/kernels/wasm/bn-training.ts, the
// same float32 operations as the ops below, so the same bits).
import * as tf from '../../tf.js';

/** Inputs {z, gamma, beta}, attr {epsilon} → [y, mean, variance, xhat, std]. */
export const BN_TRAIN = 'QatBatchNormTrain';
/** Inputs {dy, xhat, std, gamma} → [dz, dgamma, dbeta]. */
export const BN_TRAIN_GRAD = 'QatBatchNormTrainGrad';

function hasFusedKernels(z: tf.Tensor): boolean {
  const backend = tf.getBackend();
  return z.dtype === 'float32' && z.rank >= 2 && z.size > 0 && tf.getKernel(BN_TRAIN, backend) !== undefined && tf.getKernel(BN_TRAIN_GRAD, backend) !== undefined;
}

/**
 * y = (z − mean) / sqrt(var + eps) · gamma + beta over all axes but the last, with
 * dz = gamma/std · (dy − mean(dy) − x̂ · mean(dy·x̂)), dgamma = Σ dy·x̂, dbeta = Σ dy.
 * `onStats` receives the batch moments (to update the running statistics) inside the forward.
 */
export function batchNormTraining(
  z: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
  onStats: (mean: tf.Tensor, variance: tf.Tensor) => void,
): tf.Tensor {
  if (hasFusedKernels(z)) return fusedBatchNormTraining(z, gamma, beta, epsilon, onStats);
  return compositeBatchNormTraining(z, gamma, beta, epsilon, onStats);
}

/** The op-by-op form: what backends without the fused kernels run (and the tests' reference). */
export function compositeBatchNormTraining(
  z: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
  onStats: (mean: tf.Tensor, variance: tf.Tensor) => void,
): tf.Tensor {
  const axes = z.shape.map((_, i) => i).slice(0, -1);
  const n = z.size / z.shape[z.rank - 1]!;
  const op = tf.customGrad(((zi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const { mean, variance } = tf.moments(zi, axes);
    onStats(mean, variance);
    const std = tf.sqrt(tf.add(variance, epsilon));
    const xhat = tf.div(tf.sub(zi, mean), std);
    save([xhat, std, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, sd, gm] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const sumDy = tf.sum(dy, axes);
        const sumDyX = tf.sum(tf.mul(dy, xh), axes);
        const dz = tf.mul(tf.sub(tf.sub(dy, tf.div(sumDy, n)), tf.mul(xh, tf.div(sumDyX, n))), tf.div(gm, sd));
        return [dz, sumDyX, sumDy];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(z, gamma, beta);
}

function fusedBatchNormTraining(z: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number, onStats: (mean: tf.Tensor, variance: tf.Tensor) => void): tf.Tensor {
  const op = tf.customGrad(((zi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, mean, variance, xhat, std] = tf.engine().runKernel(BN_TRAIN, { z: zi, gamma: g, beta: b }, { epsilon }) as tf.Tensor[];
    onStats(mean!, variance!);
    save([xhat!, std!, g]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, sd, gm] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        return tf.engine().runKernel(BN_TRAIN_GRAD, { dy, xhat: xh, std: sd, gamma: gm }) as tf.Tensor[];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(z, gamma, beta);
}
