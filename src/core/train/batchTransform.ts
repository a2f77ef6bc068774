// The trainer's per-batch input hook (data augmentation). The core only defines the contract and
// applies it; building transforms from user options is src/data's job (src/data/augment.ts).
// Training batches only: evaluation, validation and calibration never see it.
import * as tf from '../tf.js';

export interface BatchContext {
  /** 0-based global step of the update this batch feeds. Keyed on the step, not on a running PRNG, so a
   *  run resumed from an exported state draws exactly the augmentation an uninterrupted run would. */
  step: number;
  epoch: number;
  /** The trainer's seed: two trainers (e.g. the float and QAT phases) draw different streams. */
  seed: number;
}

/** x [B, ...sampleShape] → a tensor of the same shape and dtype. It may return x itself (nothing to do);
 *  anything else it creates is freed by the caller. */
export type BatchTransform = (x: tf.Tensor, ctx: BatchContext) => tf.Tensor;

/** Runs the transform in a tidy (its intermediates are freed) and checks it kept shape and dtype: a
 *  transform that changed them would fail deep inside the model with a less helpful message. */
export function applyBatchTransform(transform: BatchTransform, x: tf.Tensor, ctx: BatchContext): tf.Tensor {
  const out = tf.tidy(() => transform(x, ctx));
  if (out.dtype !== x.dtype || !tf.util.arraysEqual(out.shape, x.shape)) {
    const got = `${out.dtype} [${out.shape.join(', ')}]`;
    if (out !== x) out.dispose();
    throw new Error(`transformBatch must keep the batch's shape and dtype: got ${got} for ${x.dtype} [${x.shape.join(', ')}]`);
  }
  return out;
}
