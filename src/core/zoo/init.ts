// Seeded initializers that follow PyTorch's defaults (kaiming_uniform with a = sqrt(5)), i.e.
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases, so a model built here starts from the
// same distribution as the peer baseline's and accuracy comparisons are about training, not init.
import * as tfl from '@tensorflow/tfjs-layers';
import { deriveSeed } from '../train/rng.js';

export type Initializer = ReturnType<typeof tfl.initializers.randomUniform>;

/** U(-1/sqrt(fanIn), 1/sqrt(fanIn)) with a seed derived from the model seed and the weight's name. */
export function torchUniform(fanIn: number, seed: number, label: string): Initializer {
  const bound = 1 / Math.sqrt(fanIn);
  return tfl.initializers.randomUniform({ minval: -bound, maxval: bound, seed: deriveSeed(seed, label) });
}
