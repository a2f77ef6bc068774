// Walks the layer graph with LAYER_RULES: every layer's output shape and declared weights, the
// parameter count, and the activation at the head, all from the config alone.
import { ModelError, modelProblem } from './errors.js';
import type { ModelGraph } from './graph.js';
import { elements, RuleError, type Shape } from './layerConfig.js';
import { LAYER_RULES, type LayerOutput, type WeightDecl } from './layerRules.js';

export interface InferredLayer extends LayerOutput {
  name: string;
  className: string;
  inputs: string[];
}

export interface InferredModel {
  layers: Map<string, InferredLayer>;
  params: number;
  inputShape: Shape;
  outputShape: Shape;
  /** The activation the model ends with ('linear' for logits, 'softmax', …). */
  outputActivation: string;
}

export function inferShapes(graph: ModelGraph): InferredModel {
  const layers = new Map<string, InferredLayer>();
  let params = 0;
  for (const node of graph.layers) {
    if (node.className === 'InputLayer') {
      layers.set(node.name, { name: node.name, className: node.className, inputs: [], shape: graph.input.shape, weights: [], passthrough: true });
      continue;
    }
    const inputs = node.inputs.map((i) => layers.get(i)!.shape);
    let out: LayerOutput;
    try {
      out = LAYER_RULES[node.className]!(node.config, inputs);
    } catch (e) {
      if (!(e instanceof RuleError)) throw e;
      throw new ModelError([modelProblem(`layer '${node.name}' (${node.className}): ${e.message}`)]);
    }
    params += out.weights.reduce((sum, w: WeightDecl) => sum + elements(w.shape), 0);
    layers.set(node.name, { ...out, name: node.name, className: node.className, inputs: node.inputs });
  }
  return { layers, params, inputShape: graph.input.shape, outputShape: layers.get(graph.output)!.shape, outputActivation: headActivation(layers, graph.output) };
}

/** Looks through dropout, flatten and reshape back to the layer that last computed something. */
function headActivation(layers: Map<string, InferredLayer>, output: string): string {
  let layer = layers.get(output)!;
  while (layer.passthrough && layer.inputs.length === 1) layer = layers.get(layer.inputs[0]!)!;
  return layer.activation ?? 'linear';
}
