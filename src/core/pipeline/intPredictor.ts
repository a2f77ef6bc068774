// The integer reference as a Predictor, so it is evaluated exactly like the TF.js models.
import type { IntModel } from '../convert/types.js';
import type { Predictor } from '../eval/metrics.js';
import { runIntModel } from '../intref/index.js';
import * as tf from '../tf.js';

export function intPredictor(model: IntModel): Predictor {
  return (x) => {
    const n = x.shape[0]!;
    const out = runIntModel(model, x.dataSync() as Float32Array, n);
    return tf.tensor(out, [n, out.length / n]);
  };
}
