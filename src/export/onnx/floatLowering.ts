// The float lowering: the same graph without quantization. Quantize/dequantize vanish, weighted ops use
// the float32 weights and biases the caller supplies (by the IntModel's constant tensor names — e.g. the
// QAT model's BN-folded float weights, see foldedWeights.ts), fused activations are real Relu/Clip
// nodes and standalone activations are their float functions.
import type { IntModel } from '../../core/convert/types.js';
import { emitActivation } from './activations.js';
import type { OnnxGraph } from './graph.js';
import type { Lowering } from './lowering.js';
import { onnxWeight } from './weights.js';

/** Float32 values of weight and bias constants, keyed by IntModel tensor name, in the IntModel's layouts. */
export type FloatWeights = Record<string, Float32Array>;

export function floatLowering(g: OnnxGraph, model: IntModel, weights: FloatWeights): Lowering {
  return {
    g,
    model,
    real: (value) => value,
    store: (value) => value,
    constants: (op) => {
      const wt = model.tensors[op.inputs[1]!]!;
      const w = onnxWeight(op.kind, weights[wt.name]!, wt.shape);
      const weight = g.constant(`${op.name}/weight`, w.dims, w.data);
      const b = op.inputs[2];
      const bias = b ? g.constant(`${op.name}/bias`, model.tensors[b]!.shape, weights[b]!) : null;
      return { weight, bias };
    },
    fused: (op, z) => emitActivation(g, op.activation, z, `${op.name}/${op.activation}`),
    activation: (op, x) => emitActivation(g, op.activation, x, op.name),
  };
}
