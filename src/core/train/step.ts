// One optimisation step: forward in training mode, loss, gradients of the trainable weights,
// optimizer update, all in a single tidy; returns [loss, metricSum] as one 2-element tensor so the
// caller reads the step's numbers with one download.
import * as tf from '../tf.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import { forward } from './forward.js';
import { lossFor, metricSum } from './losses.js';
import type { Optimizer, ParamRef } from './optimizers.js';
import type { Task } from './task.js';

/** The model's trainable weights with their stable names (re-read every step: freezing a layer
 *  between epochs changes the list). */
export function trainableParams(model: tfl.LayersModel): ParamRef[] {
  return model.trainableWeights.map((w) => ({ key: w.originalName, variable: w.read() as tf.Variable }));
}

export interface StepInputs {
  model: tfl.LayersModel;
  task: Task;
  optimizer: Optimizer;
  params: readonly ParamRef[];
  x: tf.Tensor;
  y: tf.Tensor;
  lr: number;
  /** 1-based number of this update. */
  t: number;
}

export function optimizationStep(s: StepInputs): tf.Tensor1D {
  if (s.params.length === 0) throw new Error('the model has no trainable weights');
  let metric: tf.Scalar | undefined;
  try {
    return tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const out = forward(s.model, s.x, true);
        // Computed here because `out` does not outlive the gradient's forward scope; kept past it.
        metric = tf.keep(metricSum(s.task, out, s.y));
        return lossFor(s.task, out, s.y);
      }, s.params.map((p) => p.variable));
      s.optimizer.update(
        s.params,
        s.params.map((p) => grads[p.variable.name]),
        s.lr,
        s.t,
      );
      return tf.stack([value, metric!]) as tf.Tensor1D;
    });
  } finally {
    metric?.dispose();
  }
}
