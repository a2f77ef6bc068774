// A zoo model named in an upload (`{"zoo": "cnn", "width": 1}`): checked by name and width only; the model
// is built at job time for the job's dataset. Loads no TF.js, so the API thread can answer it directly.
import { MODEL_NAMES } from '../../core/zoo/names.js';
import { ModelError } from '../../data/model/errors.js';
import type { ModelSummary } from '../../services/models.js';

const MAX_ZOO_WIDTH = 16;

const refuse = (field: string, reason: string): never => {
  throw new ModelError([{ field, reason }]);
};

export function inspectZoo(zoo: string, width: number): ModelSummary {
  if (!(MODEL_NAMES as readonly string[]).includes(zoo)) refuse('zoo', `unknown zoo model '${zoo}' (expected ${MODEL_NAMES.join(', ')})`);
  if (!(Number.isFinite(width) && width > 0 && width <= MAX_ZOO_WIDTH)) refuse('width', `must be a number in (0, ${MAX_ZOO_WIDTH}], got ${width}`);
  return {
    format: 'zoo',
    name: `zoo:${zoo}`,
    params: null,
    layers: [],
    inputShape: null,
    outputShape: null,
    outputActivation: 'linear',
    hasWeights: false,
    unsupportedLayers: [],
    zoo: { name: zoo, width },
  };
}
