// The training-mode batch norm proposed for QatLinear (src/core/qat/layers/qatLinear.ts, not owned by
// src/engine): TF.js's forward ops unchanged (same values, same running statistics), the closed-form
// gradient instead of autodiff through tf.moments and four broadcasting ops. Used by
// bench/engine-train-profile.ts --bn-proposal to measure it by patching QatLinear at run time.
import * as tf from '../src/core/tf.js';

export function batchNormTraining(
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
      // dz = gamma/std · (dy − mean(dy) − x̂·mean(dy·x̂)); dgamma = Σ dy·x̂; dbeta = Σ dy.
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

interface QatLinearInternals {
  mode: { batchNormFrozen: boolean };
  args: { batchNorm: { epsilon: number; momentum: number } | null };
  w: Record<'bias' | 'gamma' | 'beta' | 'movingMean' | 'movingVariance', { read(): tf.Tensor; write(t: tf.Tensor): void } | undefined>;
}

/** Replaces QatLinear's training-mode batch norm in this process with the proposal above. */
export async function patchQatLinear(): Promise<void> {
  const { QatLinear } = await import('../src/core/qat/layers/qatLinear.js');
  const proto = QatLinear.prototype as unknown as { batchNorm: (this: QatLinearInternals, z: tf.Tensor, s: tf.Tensor, t: boolean) => tf.Tensor };
  const original = proto.batchNorm;
  proto.batchNorm = function (this: QatLinearInternals, zScaledBack: tf.Tensor, bnScale: tf.Tensor, training: boolean): tf.Tensor {
    const bn = this.args.batchNorm;
    if (!(training && !this.mode.batchNormFrozen) || bn === null) return original.call(this, zScaledBack, bnScale, training);
    const w = this.w;
    const z = w.bias ? tf.add(zScaledBack, w.bias.read()) : zScaledBack;
    return batchNormTraining(z, w.gamma!.read(), w.beta!.read(), bn.epsilon, (mean, variance) =>
      tf.tidy(() => {
        const m = bn.momentum;
        w.movingMean!.write(tf.add(tf.mul(w.movingMean!.read(), m), tf.mul(mean, 1 - m)));
        w.movingVariance!.write(tf.add(tf.mul(w.movingVariance!.read(), m), tf.mul(variance, 1 - m)));
      }),
    );
  };
}
