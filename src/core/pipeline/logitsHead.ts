// The training loss and every evaluator take logits (softmax cross-entropy is computed from them,
// stably). A classifier imported with a softmax head is rebuilt with the same weights and a linear last
// activation: predictions (argmax) are unchanged, and the deployed model outputs logits.
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import * as tf from '../tf.js';

interface LayerJson {
  class_name: string;
  config: { name: string; activation?: unknown; [key: string]: unknown };
}

const isSoftmax = (l: LayerJson) => l.class_name === 'Softmax' || l.config.activation === 'softmax';

/** Returns the model itself when its output is already logits, else a new model (the caller disposes both). */
export async function withLogitsHead(model: LayersModel): Promise<{ model: LayersModel; removedSoftmax: boolean }> {
  const json = model.toJSON(null, false) as unknown as { config: { layers: LayerJson[]; output_layers: [string, number, number][] } };
  const outputName = json.config.output_layers?.[0]?.[0] ?? model.outputs[0]!.sourceLayer.name;
  const head = json.config.layers.find((l) => l.config.name === outputName);
  if (!head || !isSoftmax(head)) return { model, removedSoftmax: false };
  if (head.class_name === 'Softmax') {
    // A Softmax layer has no weights: an identity Activation layer of the same name takes its place.
    head.class_name = 'Activation';
    head.config = { name: head.config.name, activation: 'linear' };
  } else head.config.activation = 'linear';
  const rebuilt = await tfl.models.modelFromJSON({ modelTopology: json as unknown as tf.io.ModelJSON['modelTopology'] });
  const weights = model.getWeights();
  rebuilt.setWeights(weights);
  return { model: rebuilt, removedSoftmax: true };
}
