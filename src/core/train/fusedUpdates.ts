// The optimizers' single-pass update kernels, registered by src/engine for the cpu and wasm backends
// (src/engine/kernels/optimizer-updates.ts: same names, inputs and attributes). The core cannot import
// the engine, so it asks the kernel registry; without a kernel the optimizers run their op-by-op form,
// which gives the same float32 results.
import * as tf from '../tf.js';

export const ADAM_UPDATE = 'QatAdamUpdate';
export const SGD_UPDATE = 'QatSgdUpdate';

export interface AdamUpdateAttrs {
  beta1: number;
  beta2: number;
  oneMinusBeta1: number;
  oneMinusBeta2: number;
  stepSize: number;
  epsilon: number;
}

export interface SgdUpdateAttrs {
  lr: number;
  momentum: number;
  nesterov: boolean;
}

export function hasUpdateKernel(name: typeof ADAM_UPDATE | typeof SGD_UPDATE): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** [w', m', v'] from one pass (the kernel must be registered: see hasUpdateKernel). */
export function adamUpdate(w: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, attrs: AdamUpdateAttrs): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.engine().runKernel(ADAM_UPDATE, { w, m, v, g }, attrs as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
}

/** [w'] or, given a momentum buffer, [w', buf'] from one pass (the kernel must be registered). */
export function sgdUpdate(w: tf.Tensor, g: tf.Tensor, buf: tf.Tensor | null, attrs: SgdUpdateAttrs): tf.Tensor[] {
  const inputs: tf.NamedTensorMap = buf ? { w, g, buf } : { w, g };
  return tf.engine().runKernel(SGD_UPDATE, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
}
