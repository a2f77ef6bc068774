// Builds the checked topology with tfjs-layers and fills in the weights. Everything the user could get
// wrong was refused before this point; should TF.js still fail, the variables it made on the way are
// freed and the failure is reported as a refusal of the model.
import * as tfl from '@tensorflow/tfjs-layers';
import { trackVariables } from '../../core/qat/scratch.js';
import * as tf from '../../core/tf.js';
import { ModelError, modelProblem, weightsProblem } from './errors.js';
import type { JsonObject } from './json.js';
import type { WeightPayload } from './weightFiles.js';

const message = (e: unknown) => (e instanceof Error ? e.message.split('\n')[0]! : String(e));

export async function buildLayersModel(topology: JsonObject, weights: WeightPayload | null): Promise<tfl.LayersModel> {
  // modelFromJSON deserialises synchronously (it only awaits to fetch weights, which it is not given),
  // so the variables made while building are exactly those registered during the call.
  const { result: pending, created } = trackVariables(() => tfl.models.modelFromJSON({ modelTopology: topology }));
  let model: tfl.LayersModel;
  try {
    model = await pending;
  } catch (e) {
    for (const v of created) if (!v.isDisposed) v.dispose();
    throw new ModelError([modelProblem(`TF.js could not build the model: ${message(e)}`)]);
  }
  if (weights) {
    try {
      tf.tidy(() => model.loadWeights(tf.io.decodeWeights(weights.data, weights.specs), true));
    } catch (e) {
      model.dispose();
      throw new ModelError([weightsProblem(`TF.js could not load the weights: ${message(e)}`)]);
    }
  }
  return model;
}
