// The model zoo: reference architectures built deterministically from a seed, logits out (no softmax).
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildCnn } from './cnn.js';
import { buildDsCnn } from './dsCnn.js';
import { buildMlp } from './mlp.js';
import type { BuildOptions, ModelName } from './names.js';

export { MODEL_NAMES, type BuildOptions, type ModelName } from './names.js';

/** Raised when an architecture cannot take the requested input (e.g. images too small for its pooling). */
export class ZooShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZooShapeError';
  }
}

function build(name: ModelName, opts: BuildOptions): tfl.LayersModel {
  switch (name) {
    case 'mlp':
      return buildMlp(opts);
    case 'cnn':
      return buildCnn(opts);
    case 'ds-cnn':
      return buildDsCnn(opts);
    default:
      throw new Error(`unknown model '${String(name)}' (expected mlp, cnn or ds-cnn)`);
  }
}

export function buildModel(name: ModelName, opts: BuildOptions): tfl.LayersModel {
  const model = build(name, opts);
  // Valid convolutions and pooling shrink the image; too small an input leaves a layer with no outputs,
  // which TF.js would accept and train as a bias-only classifier.
  const empty = model.layers.find((l) => (l.outputShape as (number | null)[]).some((d) => d === 0));
  if (empty) {
    model.dispose();
    throw new ZooShapeError(`${name} cannot take [${opts.inputShape.join(', ')}] inputs: its layer '${empty.name}' would have no outputs (use larger images or mlp)`);
  }
  return model;
}
