// The model zoo: reference architectures built deterministically from a seed, logits out (no softmax).
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildCnn } from './cnn.js';
import { buildDsCnn } from './dsCnn.js';
import { buildMlp } from './mlp.js';
import type { BuildOptions, ModelName } from './names.js';

export { MODEL_NAMES, type BuildOptions, type ModelName } from './names.js';

export function buildModel(name: ModelName, opts: BuildOptions): tfl.LayersModel {
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
