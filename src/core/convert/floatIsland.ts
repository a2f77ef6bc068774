// A layer kept in float (mixed precision / float fallback): its int8 inputs are dequantized, the Keras
// layer runs in float32 with its own weights, and the QatQuantize after it quantizes the result.
import type { layers as tflLayers } from '@tensorflow/tfjs-layers';
import { activationShape, type GraphBuilder } from './graph.js';
import type { QuantInfo } from './types.js';

type Layer = tflLayers.Layer;

/** The float32 tensor holding an int8 tensor's dequantized values (one dequantize op per source). */
export function dequantized(g: GraphBuilder, input: string, layer: string): string {
  const name = `${input}/dequantized`;
  if (!g.has(name)) {
    g.float(name, g.tensor(input).shape);
    g.op({ kind: 'dequantize', name, layer, inputs: [input], outputs: [name] });
  }
  return name;
}

/** Emits dequantize → float layer → quantize; `outName` is the int8 output with `quant`. */
export function convertFloatLayer(g: GraphBuilder, layer: Layer, inputs: string[], quant: QuantInfo, range: [number, number] | undefined, outName: string): boolean {
  const shape = activationShape(layer.outputShape as (number | null)[]);
  if (!shape) {
    g.issue(layer.name, layer.getClassName(), `output shape ${JSON.stringify(layer.outputShape)} has unknown dimensions`);
    return false;
  }
  const floatInputs = inputs.map((n) => dequantized(g, n, layer.name));
  const weights = layer.weights.map((v, i) => {
    const short = v.originalName.split('/').pop() ?? `weight${i}`;
    const values = v.read().dataSync() as Float32Array;
    return g.add({ name: `${layer.name}/${short}`, shape: [...v.shape] as number[], dtype: 'float32', data: Float32Array.from(values) });
  });
  const floatOut = g.float(`${layer.name}/float`, shape);
  g.op({
    kind: 'float',
    name: layer.name,
    layer: layer.name,
    inputs: floatInputs,
    outputs: [floatOut],
    className: layer.getClassName(),
    // A JSON round trip keeps the description plain data (Keras configs are JSON by construction).
    config: JSON.parse(JSON.stringify(layer.getConfig())) as Record<string, unknown>,
    weights,
  });
  g.activation(outName, shape, quant, range);
  g.op({ kind: 'quantize', name: `${outName}/quantize`, layer: layer.name, inputs: [floatOut], outputs: [outName] });
  return true;
}
